// The mount under load, for a sanitizer build (scripts/stress): 8 readers
// for STRESS_SECONDS (default 600) over 100 dumps of mixed sizes under two
// key-store keys and one key of a real PyKMIP server, opening, reading random
// ranges through a direct_io mount (every read reaches the daemon) and
// closing, while each key in turn goes idle and is dropped (idle=1) and the
// KMS is restarted half-way. It must see no byte that differs, its daemon no
// sanitizer report, and the daemon's memory must stay flat. Not run by ctest.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/local_keystore.h"
#include "tests/kms/kmip_test_base.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int64_t RssKb(pid_t pid) {
  const std::vector<uint8_t> status =
      ReadFileOrFail(absl::StrCat("/proc/", pid, "/status"));
  const std::string text(status.begin(), status.end());
  const size_t at = text.find("VmRSS:");
  int64_t kb = -1;
  if (at != std::string::npos) {
    const size_t end = text.find("kB", at);
    std::string digits = text.substr(at + 6, end - at - 6);
    digits.erase(0, digits.find_first_not_of(' '));
    digits.erase(digits.find_last_not_of(' ') + 1);
    (void)absl::SimpleAtoi(digits, &kb);
  }
  return kb;
}

TEST_F(KmipMountTest, EightReadersOverAHundredDumps) {
  const char* env = std::getenv("STRESS_SECONDS");
  const absl::Duration run = absl::Seconds(env ? std::atoi(env) : 600);
  const std::string ks = dir_->File("stress-ks");
  {
    auto store = LocalKeyStore::OpenOrCreate(ks);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Add("a", SecretBytes::CopyOf(SeedKey(101))).ok());
    ASSERT_TRUE((*store)->Add("b", SecretBytes::CopyOf(SeedKey(102))).ok());
  }
  constexpr int kFiles = 100;
  std::vector<std::vector<uint8_t>> data(kFiles);
  for (int i = 0; i < kFiles; ++i) {
    const size_t size = i % 10 == 0 ? (8 << 20) + 17 * i : 4096 * (i % 7) + i;
    data[i] = RandomBytes(size, 500 + i);
    SealOptions options;
    options.prefix_bytes = i % 3 == 0 ? 4096 : 0;
    const KeyRef ref = i % 3 == 0   ? KeyRef{"kms-a", "1"}
                       : i % 3 == 1 ? KeyRef{"local", "a"}
                                    : KeyRef{"local", "b"};
    const int seed = i % 3 == 0 ? 1 : i % 3 == 1 ? 101 : 102;
    ASSERT_TRUE(SealBuffer(absl::StrCat(src_, "/d", i, ".dce"), data[i],
                           options, SecretBytes::CopyOf(SeedKey(seed)), ref)
                    .ok());
  }
  Mount(cluster_->WriteConfig("stress.toml", "kms-a", {cluster_->Address(0)},
                              "client", "ca.crt", 1000, 2000, 1000),
        {"keystore=" + ks, "idle=1", "negative_ttl=1", "direct_io"});

  const absl::Time start = absl::Now();
  // For 3 s of every 9, no one reads the dumps of one of the keys (i % 3 ==
  // resting()), so that it goes idle, is dropped and is fetched again.
  auto resting = [start] {
    return static_cast<int>(absl::ToInt64Seconds(absl::Now() - start) / 3 % 3);
  };
  std::atomic<bool> stop{false}, restarted{false};
  std::atomic<int64_t> reads{0}, mismatches{0}, failed_opens{0},
      kms_opens_after{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 8; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      std::vector<uint8_t> buf(1 << 20);
      while (!stop) {
        const int i = static_cast<int>(rng() % kFiles);
        if (i % 3 == resting()) continue;
        const int fd = open(absl::StrCat(mnt_, "/d", i).c_str(), O_RDONLY);
        if (fd < 0) {
          ++failed_opens;  // the KMS restart: EHOSTDOWN for a moment
          continue;
        }
        if (i % 3 == 0 && restarted) ++kms_opens_after;
        for (int k = 0; k < 8; ++k) {
          const size_t size = data[i].size();
          const size_t offset = rng() % (size + 1);
          const size_t len =
              std::min<size_t>(rng() % buf.size(), size - offset);
          const ssize_t got = pread(fd, buf.data(), len, offset);
          ++reads;
          if (got != static_cast<ssize_t>(len) ||
              !std::equal(buf.begin(), buf.begin() + len,
                          data[i].begin() + offset)) {
            ++mismatches;
          }
        }
        close(fd);
      }
    });
  }
  absl::SleepFor(run / 4);
  const int64_t rss_early = RssKb(mount_->pid());
  absl::SleepFor(run / 4);
  // The KMS stops while its key is in use (and cached), the key rests and
  // is dropped, and for a second after the rest its dumps cannot open;
  // then the KMS is back and they open again.
  auto wait_for = [&](int phase) {
    while (resting() != phase) absl::SleepFor(absl::Milliseconds(50));
  };
  wait_for(2);
  Stop(0);
  wait_for(0);
  wait_for(1);
  absl::SleepFor(absl::Seconds(1));
  ASSERT_TRUE(cluster_->StartServer(0).ok());
  running_[0] = true;
  restarted = true;
  absl::SleepFor(start + run - absl::Now());
  const int64_t rss_late = RssKb(mount_->pid());
  stop = true;
  for (std::thread& t : readers) t.join();
  mount_.reset();

  std::printf(
      "%lld reads, %lld mismatches, %lld failed opens, %lld opens "
      "of KMS dumps after the restart; RSS %lld kB at 1/4, %lld kB "
      "at the end\n",
      static_cast<long long>(reads.load()),
      static_cast<long long>(mismatches.load()),
      static_cast<long long>(failed_opens.load()),
      static_cast<long long>(kms_opens_after.load()),
      static_cast<long long>(rss_early), static_cast<long long>(rss_late));
  EXPECT_GT(reads, 1000);
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(failed_opens, 0);     // the KMS was down when its key was needed
  EXPECT_GT(kms_opens_after, 0);  // and its dumps opened again after
  EXPECT_LT(rss_late, rss_early * 3 / 2 + 16 * 1024);  // flat, within noise
  const std::vector<uint8_t> log = ReadFileOrFail(dir_->File("daemon.log"));
  const std::string text(log.begin(), log.end());
  EXPECT_THAT(text, Not(HasSubstr("Sanitizer")));
  if (HasFailure()) std::printf("---- daemon log ----\n%s\n", text.c_str());
}

}  // namespace
}  // namespace dumpcrypt::testing
