// The mount against real PyKMIP servers: keys fetched lazily, once per
// keyID; all servers down, then back; an outage is not a missing key; a
// key-slot bomb costs one request per distinct keyID; a KMS that hangs
// holds none of the threads that serve reads and lookups.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "envelope/envelope_writer.h"
#include "envelope/file_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/kmip_connection.h"
#include "kms/kms_config.h"
#include "tests/fs/mount_fixture.h"
#include "tests/kms/kmip_test_base.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST_F(KmipMountTest, KeysAreFetchedLazilyOncePerKey) {
  std::vector<uint8_t> data = RandomBytes(10000, 1);
  for (int i = 0; i < 20; ++i) {
    const int k = i % 3 + 1;
    ASSERT_TRUE(SealBuffer(src_ + "/dump" + std::to_string(i) + ".dce", data,
                           SealOptions(), SecretBytes::CopyOf(SeedKey(k)),
                           {"kms-a", std::to_string(k)})
                    .ok());
  }
  const int before = Gets();
  const int requests_before = Requests();
  Mount(Both());
  EXPECT_EQ(RunTool({"ls", "-l", mnt_}).exit_code, 0);
  EXPECT_EQ(RunTool({"find", mnt_, "-type", "f"}).exit_code, 0);
  EXPECT_EQ(Gets(), before);  // no KMIP request to list
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(ReadFileOrFail(mnt_ + "/dump" + std::to_string(i)) == data)
        << i;
  EXPECT_EQ(Gets() - before, 3);
  EXPECT_EQ(Requests() - requests_before, 3);  // state and key in one each
}

TEST_F(KmipMountTest, AllServersDownThenBack) {
  std::vector<uint8_t> data = RandomBytes(10000, 2);
  ASSERT_TRUE(SealBuffer(src_ + "/core.dce", data, SealOptions(),
                         SecretBytes::CopyOf(SeedKey(1)), {"kms-a", "1"})
                  .ok());
  Stop(0);
  Stop(1);
  Mount(Both(), {"negative_ttl=1"});
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/core").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10000);
  const absl::Time start = absl::Now();
  EXPECT_EQ(open((mnt_ + "/core").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EHOSTDOWN);  // an outage, not a missing key
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(cluster_->StartServer(0).ok());
  running_[0] = true;
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
}

TEST_F(KmipMountTest, OutageIsNotAMissingKey) {
  const std::string conf =
      cluster_->WriteConfig("one.toml", "kms-a", {cluster_->Address(0)});
  std::string destroyed, kept;
  {
    auto config = LoadKmsConfig(conf);
    ASSERT_TRUE(config.ok());
    auto provider = KmipProvider::Create(config->providers[0], nullptr);
    ASSERT_TRUE(provider.ok());
    ASSERT_OK_AND_ASSIGN(destroyed, (*provider)->CreateKey("to-destroy"));
    ASSERT_OK_AND_ASSIGN(kept, (*provider)->CreateKey("kept"));
  }
  for (const std::string& id : {destroyed, kept}) {
    ToolResult r = RunTool({ToolPath("dumpcrypt"), "seal", "--kms", conf,
                            "--key-id", id, "-", src_ + "/" + id + ".dce"},
                           "core bytes");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Revoke(*cluster_, destroyed, false);
  SendRaw(*cluster_, 0, 0x14,
          {Ttlv::TextString(kmip::kUniqueIdentifier, destroyed)});
  Mount(conf);
  auto key_status = [&](const std::string& name) {
    char value[512] = {};
    const ssize_t n =
        getxattr((mnt_ + "/" + name).c_str(), "user.dumpcrypt.key_status",
                 value, sizeof(value) - 1);
    return n < 0 ? std::string("getxattr failed") : std::string(value, n);
  };
  EXPECT_EQ(open((mnt_ + "/" + destroyed).c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOKEY);
  EXPECT_THAT(key_status(destroyed), StartsWith("missing: "));

  Stop(0);
  EXPECT_EQ(open((mnt_ + "/" + kept).c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EHOSTDOWN);
  EXPECT_THAT(key_status(kept), StartsWith("unreachable: "));
  // The CLI: exit 3 for both, each with its cause.
  ToolResult r = RunTool({ToolPath("dumpcrypt"), "keys", "--kms", conf, src_});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, HasSubstr("provider unreachable"));

  const std::vector<uint8_t> log = ReadFileOrFail(dir_->File("daemon.log"));
  const std::string text(log.begin(), log.end());
  EXPECT_THAT(text, HasSubstr(destroyed + ".dce: keyID '" + destroyed));
  EXPECT_THAT(text, HasSubstr(kept + ".dce: keyID '" + kept));
}

// Issue 22's key-slot bomb: a file anyone could write, with 64 slots (the
// most a reader takes) naming 8 keyIDs the KMS does not have, costs one
// KMIP request per distinct keyID on its first open, none on the next
// (the failures are remembered for negative_ttl), and opens nothing.
TEST_F(KmipMountTest, AKeySlotBombCostsOneRequestPerDistinctKeyId) {
  const std::string path = src_ + "/bomb.dce";
  auto writer = EnvelopeWriter::Create(
      path,
      [](const SecretBytes& dk) -> absl::StatusOr<std::vector<KeySlot>> {
        std::vector<KeySlot> slots;
        for (int i = 0; i < static_cast<int>(kMaxSlots); ++i) {
          absl::StatusOr<KeySlot> slot =
              MakeKeySlot({"kms-a", absl::StrCat("absent-", i % 8)},
                          SecretBytes::CopyOf(RandomBytes(32, 50 + i)), dk);
          if (!slot.ok()) return slot.status();
          slots.push_back(*std::move(slot));
        }
        return slots;
      },
      SealOptions());
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write(RandomBytes(5000, 4)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  Mount(cluster_->WriteConfig("bomb.toml", "kms-a", {cluster_->Address(0)}));
  const int before = Requests();
  EXPECT_EQ(open((mnt_ + "/bomb").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOKEY);
  EXPECT_EQ(Requests() - before, 8);
  EXPECT_EQ(open((mnt_ + "/bomb").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOKEY);
  EXPECT_EQ(Requests() - before, 8);
}

// 20 opens waiting on a KMS that hangs must not take the threads that serve
// everything else: reading a file whose key is cached, and `ls -l`, stay
// within 2x their normal latency while they wait (issue 22: 4.8 s before).
TEST_F(KmipMountTest, AHungKmsDelaysNoReadOfACachedFileNorAListing) {
  const std::vector<uint8_t> data = RandomBytes(64 << 10, 3);
  ASSERT_TRUE(SealBuffer(src_ + "/cached.dce", data, SealOptions(),
                         SecretBytes::CopyOf(SeedKey(1)), {"kms-a", "1"})
                  .ok());
  for (int i = 0; i < 20; ++i) {
    const int k = 4 + i % 7;  // keys only the second server holds
    ASSERT_TRUE(SealBuffer(src_ + "/waits" + std::to_string(i) + ".dce", data,
                           SealOptions(), SecretBytes::CopyOf(SeedKey(k)),
                           {"kms-a", std::to_string(k)})
                    .ok());
  }
  Mount(cluster_->WriteConfig("slow.toml", "kms-a", {cluster_->Address(1)},
                              "client", "ca.crt", 1000, 4000));
  auto read_cached = [&] {
    const absl::Time start = absl::Now();
    EXPECT_TRUE(ReadFileOrFail(mnt_ + "/cached") == data);
    return absl::Now() - start;
  };
  auto list = [&] {
    const absl::Time start = absl::Now();
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(mnt_)) {
      struct stat st;
      EXPECT_EQ(stat(e.path().c_str(), &st), 0);
      ++entries;
    }
    EXPECT_EQ(entries, 21);
    return absl::Now() - start;
  };
  auto slowest = [](const std::function<absl::Duration()>& f) {
    absl::Duration worst;
    for (int i = 0; i < 5; ++i) worst = std::max(worst, f());
    return worst;
  };
  read_cached();  // fetches key 1
  const absl::Duration read_normal = slowest(read_cached);
  const absl::Duration list_normal = slowest(list);

  cluster_->Pause(1);
  std::vector<std::thread> waiting;
  std::atomic<int> failed{0};
  for (int i = 0; i < 20; ++i) {
    waiting.emplace_back([&, i] {
      const int fd =
          open((mnt_ + "/waits" + std::to_string(i)).c_str(), O_RDONLY);
      if (fd < 0) ++failed;
      if (fd >= 0) close(fd);
    });
  }
  // Every open is in the daemon, and the kernel's cached names and
  // attributes (1 s) have expired, so the listing asks the daemon again.
  absl::SleepFor(absl::Milliseconds(1200));
  const absl::Duration list_hung = slowest(list);
  const absl::Duration read_hung = slowest(read_cached);
  for (std::thread& t : waiting) t.join();
  cluster_->Resume(1);
  EXPECT_EQ(failed, 20);  // the KMS never answered them
  std::printf("cached read %s normal, %s during the hang; ls -l %s, %s\n",
              absl::FormatDuration(read_normal).c_str(),
              absl::FormatDuration(read_hung).c_str(),
              absl::FormatDuration(list_normal).c_str(),
              absl::FormatDuration(list_hung).c_str());
  // 2x, with a floor for the scheduling noise of a shared 2-vCPU machine;
  // a held thread would cost seconds.
  const absl::Duration floor = absl::Milliseconds(100);
  EXPECT_LT(read_hung, std::max(2 * read_normal, floor));
  EXPECT_LT(list_hung, std::max(2 * list_normal, floor));
}

}  // namespace
}  // namespace dumpcrypt::testing
