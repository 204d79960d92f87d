#include "kms/kernel_key_cache.h"

#include <keyutils.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::dumpcrypt::testing::RandomBytes;

// Each test has its own keyring, unlinked at the end, so that a host's real
// cache ("dumpcrypt") is never touched.
class KernelKeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cache = KernelKeyCache::Open(name_, /*create=*/true);
    if (absl::IsUnimplemented(cache.status())) GTEST_SKIP() << cache.status();
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = std::move(cache).value();
  }
  void TearDown() override {
    if (cache_ == nullptr) return;
    ASSERT_TRUE(cache_->Flush().ok());
    long ring =
        keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name_.c_str(), 0);
    if (ring >= 0) keyctl_unlink(ring, KEY_SPEC_USER_KEYRING);
  }

  const std::string name_ = absl::StrCat("dumpcrypt-test-", getpid());
  std::unique_ptr<KernelKeyCache> cache_;
};

TEST_F(KernelKeyCacheTest, KeysRoundTripByProviderAndKeyId) {
  const SecretBytes a = SecretBytes::CopyOf(RandomBytes(32, 1));
  const SecretBytes b = SecretBytes::CopyOf(RandomBytes(32, 2));
  ASSERT_TRUE(cache_->Put({"kms:a%", "host-key"}, a, absl::Hours(1)).ok());
  ASSERT_TRUE(cache_->Put({"kms-b", "vm:1"}, b, absl::Hours(1)).ok());
  ASSERT_OK_AND_ASSIGN(SecretBytes got,
                       cache_->Resolve({"kms:a%", "host-key"}));
  EXPECT_TRUE(got.Equals(a));
  ASSERT_OK_AND_ASSIGN(got, cache_->Resolve({"kms-b", "vm:1"}));
  EXPECT_TRUE(got.Equals(b));
  EXPECT_TRUE(absl::IsNotFound(cache_->Resolve({"kms-b", "vm:2"}).status()));
  EXPECT_TRUE(
      absl::IsNotFound(cache_->Resolve({"kms-a", "host-key"}).status()));

  ASSERT_OK_AND_ASSIGN(auto entries, cache_->List());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].ref, (KeyRef{"kms:a%", "host-key"}));
  EXPECT_EQ(entries[1].ref, (KeyRef{"kms-b", "vm:1"}));
  // /proc/keys rounds the time left: an hour shows as 1h or 59m.
  EXPECT_TRUE(entries[0].expires == "1h" || entries[0].expires == "59m")
      << entries[0].expires;
}

TEST_F(KernelKeyCacheTest, KeysArePossessorOnlyAndReplaced) {
  const SecretBytes a = SecretBytes::CopyOf(RandomBytes(32, 3));
  const SecretBytes b = SecretBytes::CopyOf(RandomBytes(32, 4));
  ASSERT_TRUE(cache_->Put({"p", "k"}, a, absl::Hours(1)).ok());
  ASSERT_TRUE(cache_->Put({"p", "k"}, b, absl::Hours(1)).ok());
  ASSERT_OK_AND_ASSIGN(auto entries, cache_->List());
  ASSERT_EQ(entries.size(), 1u);
  ASSERT_OK_AND_ASSIGN(SecretBytes got, cache_->Resolve({"p", "k"}));
  EXPECT_TRUE(got.Equals(b));
  char* described = nullptr;
  ASSERT_GE(keyctl_describe_alloc(entries[0].serial, &described), 0);
  // "user;UID;GID;PERM;DESC": possessor bits only, none for user/group/other.
  const std::string d(described);
  std::free(described);
  EXPECT_NE(d.find(";3f000000;"), std::string::npos) << d;
}

TEST_F(KernelKeyCacheTest, ExpiredAndFlushedKeysAreGone) {
  const SecretBytes a = SecretBytes::CopyOf(RandomBytes(32, 5));
  ASSERT_TRUE(cache_->Put({"p", "short"}, a, absl::Seconds(1)).ok());
  ASSERT_TRUE(cache_->Put({"p", "long"}, a, absl::Hours(1)).ok());
  sleep(2);
  absl::Status expired = cache_->Resolve({"p", "short"}).status();
  EXPECT_TRUE(absl::IsNotFound(expired)) << expired;
  ASSERT_OK_AND_ASSIGN(int revoked, cache_->Flush());
  EXPECT_GE(revoked, 1);
  EXPECT_TRUE(absl::IsNotFound(cache_->Resolve({"p", "long"}).status()));
  ASSERT_OK_AND_ASSIGN(auto entries, cache_->List());
  EXPECT_TRUE(entries.empty());
  EXPECT_TRUE(absl::IsInvalidArgument(
      cache_->Put({"p", "k"}, a, absl::Milliseconds(10))));
}

TEST(KernelKeyCacheOpenTest, AMissingCacheSaysHowToLoadIt) {
  auto cache = KernelKeyCache::Open("dumpcrypt-test-absent", false);
  if (absl::IsUnimplemented(cache.status())) GTEST_SKIP() << cache.status();
  EXPECT_TRUE(absl::IsNotFound(cache.status())) << cache.status();
  EXPECT_NE(cache.status().message().find("keycache load"), std::string::npos);
}

}  // namespace
}  // namespace dumpcrypt
