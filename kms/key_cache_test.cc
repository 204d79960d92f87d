#include "kms/key_cache.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::HasSubstr;

// FakeResolver counts calls; keys whose id starts with "missing" fail; an
// optional gate holds every call until notified.
class FakeResolver : public KeyResolver {
 public:
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override {
    ++calls;
    if (gate != nullptr) gate->WaitForNotification();
    if (ref.key_id.rfind("missing", 0) == 0) {
      return absl::NotFoundError("not in the fake store");
    }
    if (ref.key_id == "down") return absl::UnavailableError("no answer");
    if (ref.key_id == "hung") return absl::DeadlineExceededError("timed out");
    return SecretBytes::CopyOf(
        std::vector<uint8_t>(32, static_cast<uint8_t>(ref.key_id[0])));
  }
  std::string Describe() const override { return "fake"; }
  std::atomic<int> calls{0};
  absl::Notification* gate = nullptr;
};

class KeyCacheTest : public ::testing::Test {
 protected:
  KeyCache Make(absl::Duration idle, absl::Duration negative_ttl) {
    auto fake = std::make_unique<FakeResolver>();
    fake_ = fake.get();
    KeyCache::Options options;
    options.idle = idle;
    options.negative_ttl = negative_ttl;
    options.clock = [this] { return now_; };
    return KeyCache(std::move(fake), options);
  }
  FakeResolver* fake_ = nullptr;
  absl::Time now_ = absl::FromUnixSeconds(1000000);
};

TEST_F(KeyCacheTest, ConcurrentCallersShareOneFetch) {
  KeyCache cache = Make(absl::ZeroDuration(), absl::Seconds(10));
  absl::Notification gate;
  fake_->gate = &gate;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto key = cache.Resolve({"p", "k"});
      if (key.ok() && key->size() == 32 && key->data()[0] == 'k') ++ok;
    });
  }
  // Let every thread reach the cache before the one fetch completes.
  while (fake_->calls.load() == 0) std::this_thread::yield();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(cache.Status({"p", "k"}), "fetching");
  gate.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(fake_->calls.load(), 1);
  EXPECT_EQ(cache.FetchCount(), 1);
  // Provider and keyID together name a key.
  EXPECT_OK(cache.Resolve({"other", "k"}).status());
  EXPECT_EQ(fake_->calls.load(), 2);
}

// An unreachable source is not a missing key, in what the mount shows.
TEST_F(KeyCacheTest, StatusTellsUnreachableFromMissing) {
  KeyCache cache = Make(absl::ZeroDuration(), absl::Seconds(10));
  for (const char* id : {"missing-1", "down", "hung"}) {
    EXPECT_FALSE(cache.Resolve({"p", id}).ok());
  }
  EXPECT_EQ(cache.Status({"p", "missing-1"}), "missing: not in the fake store");
  EXPECT_EQ(cache.Status({"p", "down"}), "unreachable: no answer");
  EXPECT_EQ(cache.Status({"p", "hung"}), "unreachable: timed out");
}

TEST_F(KeyCacheTest, FailuresAreRememberedBriefly) {
  KeyCache cache = Make(absl::ZeroDuration(), absl::Seconds(10));
  EXPECT_EQ(cache.Status({"p", "missing-1"}), "untried");
  EXPECT_EQ(cache.Resolve({"p", "missing-1"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(cache.Status({"p", "missing-1"}),
              HasSubstr("missing: not in the fake store"));
  now_ += absl::Seconds(9);
  EXPECT_EQ(cache.Resolve({"p", "missing-1"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(fake_->calls.load(), 1);
  now_ += absl::Seconds(2);
  EXPECT_EQ(cache.Resolve({"p", "missing-1"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(fake_->calls.load(), 2);
}

// A file anyone can write may name any number of keyIDs: their failures are
// forgotten once their TTL is over, even with no idle drop set.
TEST_F(KeyCacheTest, FailuresAreForgottenAfterTheirTtl) {
  KeyCache cache = Make(absl::ZeroDuration(), absl::Seconds(10));
  for (int i = 0; i < 300; ++i) {
    EXPECT_FALSE(cache.Resolve({"p", "missing-" + std::to_string(i)}).ok());
  }
  EXPECT_OK(cache.Resolve({"p", "k"}).status());
  EXPECT_EQ(cache.DropIdle(), 0);
  EXPECT_THAT(cache.Status({"p", "missing-7"}), HasSubstr("missing: "));
  now_ += absl::Seconds(10);
  EXPECT_EQ(cache.DropIdle(), 300);
  EXPECT_EQ(cache.Status({"p", "missing-7"}), "untried");
  EXPECT_EQ(cache.Status({"p", "k"}), "available");  // keys stay
}

TEST_F(KeyCacheTest, IdleKeysAreDroppedAndFetchedAgain) {
  KeyCache cache = Make(absl::Seconds(60), absl::Seconds(10));
  ASSERT_OK(cache.Resolve({"p", "a"}).status());
  ASSERT_OK(cache.Resolve({"p", "b"}).status());
  EXPECT_EQ(cache.Status({"p", "a"}), "available");
  now_ += absl::Seconds(50);
  ASSERT_OK(cache.Resolve({"p", "a"}).status());  // a is used again
  now_ += absl::Seconds(20);
  EXPECT_EQ(cache.DropIdle(), 1);  // b only
  EXPECT_EQ(cache.Status({"p", "b"}), "untried");
  EXPECT_EQ(cache.Status({"p", "a"}), "available");
  ASSERT_OK(cache.Resolve({"p", "b"}).status());
  EXPECT_EQ(fake_->calls.load(), 3);
}

TEST_F(KeyCacheTest, NoIdleLimitKeepsKeys) {
  KeyCache cache = Make(absl::ZeroDuration(), absl::Seconds(10));
  ASSERT_OK(cache.Resolve({"p", "a"}).status());
  now_ += absl::Hours(1000);
  EXPECT_EQ(cache.DropIdle(), 0);
  ASSERT_OK(cache.Resolve({"p", "a"}).status());
  EXPECT_EQ(fake_->calls.load(), 1);
}

}  // namespace
}  // namespace dumpcrypt
