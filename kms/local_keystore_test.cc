#include "kms/local_keystore.h"

#include <sys/stat.h>

#include <thread>

#include "envelope/envelope_opener.h"
#include "envelope/envelope_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::TempDir;

TEST(LocalKeyStoreTest, CreatesWithMode0600AndResolvesKeys) {
  TempDir dir;
  const std::string path = dir.File("ks");
  ASSERT_OK_AND_ASSIGN(auto store, LocalKeyStore::OpenOrCreate(path));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  SecretBytes k1 = SecretBytes::CopyOf(RandomBytes(32, 1));
  SecretBytes k2 = SecretBytes::CopyOf(RandomBytes(32, 2));
  ASSERT_OK(store->Add("44", k1));
  ASSERT_OK(store->Add("vmware:key/fqid/a b", k2));
  ASSERT_OK_AND_ASSIGN(SecretBytes got, store->Resolve({"any-provider", "44"}));
  EXPECT_TRUE(got.Equals(k1));
  ASSERT_OK_AND_ASSIGN(got, store->Resolve({"", "vmware:key/fqid/a b"}));
  EXPECT_TRUE(got.Equals(k2));
  EXPECT_THAT(*store->ListIds(), ElementsAre("44", "vmware:key/fqid/a b"));
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(LocalKeyStoreTest, ErrorsSayWhy) {
  TempDir dir;
  const std::string path = dir.File("ks");
  EXPECT_EQ(LocalKeyStore::Open(path).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto store, LocalKeyStore::OpenOrCreate(path));
  auto missing = store->Resolve({"", "nope"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path));

  ASSERT_OK(store->Add("a", SecretBytes::CopyOf(RandomBytes(32, 1))));
  EXPECT_EQ(store->Add("a", SecretBytes::CopyOf(RandomBytes(32, 2))).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->Add("b", SecretBytes(16)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Add("bad\nid", SecretBytes(32)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LocalKeyStoreTest, RefusesAStoreOthersCanRead) {
  TempDir dir;
  const std::string path = dir.File("ks");
  ASSERT_OK_AND_ASSIGN(auto store, LocalKeyStore::OpenOrCreate(path));
  ASSERT_OK(store->Add("a", SecretBytes::CopyOf(RandomBytes(32, 1))));
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  auto refused = store->Resolve({"", "a"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("chmod 600"));
  EXPECT_EQ(LocalKeyStore::Open(path).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(LocalKeyStoreTest, MalformedLineNamesItsNumber) {
  TempDir dir;
  const std::string path = dir.File("ks");
  testing::WriteFileOrDie(path,
                          std::vector<uint8_t>{'#', '\n', 'z', 'z', '\n'});
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  ASSERT_OK_AND_ASSIGN(auto store, LocalKeyStore::Open(path));
  auto r = store->Resolve({"", "x"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 2"));
}

TEST(LocalKeyStoreTest, ConcurrentAddsLoseNothing) {
  TempDir dir;
  const std::string path = dir.File("ks");
  ASSERT_OK_AND_ASSIGN(auto store, LocalKeyStore::OpenOrCreate(path));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        EXPECT_OK(
            store->Add("k" + std::to_string(t) + "-" + std::to_string(i),
                       SecretBytes::CopyOf(RandomBytes(32, t * 100 + i))));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store->ListIds()->size(), 40u);
}

TEST(EnvelopeOpenerTest, OpensWithTheStoreAndNamesMissingKeys) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, LocalKeyStore::OpenOrCreate(dir.File("ks")));
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  ASSERT_OK(store->Add("k1", kek));
  const std::vector<uint8_t> data = RandomBytes(10000, 2);
  ASSERT_OK(testing::SealBuffer(dir.File("a.dce"), data, SealOptions(), kek,
                                {"prov", "k1"}));
  ASSERT_OK(testing::SealBuffer(dir.File("b.dce"), data, SealOptions(), kek,
                                {"prov", "k2"}));
  ASSERT_OK_AND_ASSIGN(auto reader,
                       OpenEnvelopeFile(dir.File("a.dce"), *store));
  ASSERT_OK_AND_ASSIGN(auto back, testing::ReadAll(*reader));
  EXPECT_TRUE(back == data);

  // No key: UNAUTHENTICATED, the store's own NOT_FOUND kept for `keys`.
  auto missing = OpenEnvelopeFile(dir.File("b.dce"), *store);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(KeySourceCode(missing.status()), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr(dir.File("b.dce")));
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("keyID 'k2' (provider 'prov')"));

  // The right keyID holding the wrong key: UNAUTHENTICATED.
  ASSERT_OK(store->Add("k2", SecretBytes::CopyOf(RandomBytes(32, 9))));
  auto wrong = OpenEnvelopeFile(dir.File("b.dce"), *store);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(KeySourceCode(wrong.status()), absl::StatusCode::kUnauthenticated);
  // Not an envelope.
  testing::WriteFileOrDie(dir.File("plain"), data);
  EXPECT_EQ(OpenEnvelopeFile(dir.File("plain"), *store).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dumpcrypt
