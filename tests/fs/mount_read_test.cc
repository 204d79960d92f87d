// Reading through a real mount gives exactly the original bytes.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "gmock/gmock.h"
#include "tests/fs/mount_test_base.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

class MountReadTest : public MountTestBase {
 protected:
  // Plain files by name as the mount shows them, for comparisons.
  std::map<std::string, std::vector<uint8_t>> expected_;

  void AddEnvelope(const std::string& shown, size_t size, uint32_t sector,
                   uint32_t prefix, bool integrity = true) {
    std::vector<uint8_t> data =
        RandomBytes(size, static_cast<uint32_t>(size * 31 + sector + prefix));
    SealOptions options;
    options.sector_size = sector;
    options.prefix_bytes = prefix;
    options.integrity = integrity;
    Seal(shown + ".dce", data, options);
    expected_[shown] = std::move(data);
  }
  void ReadInParallel(const std::vector<std::string>& options);
};

TEST_F(MountReadTest, EveryFileReadsBackExactly) {
  ASSERT_EQ(mkdir((src_ + "/a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((src_ + "/a/b").c_str(), 0755), 0);
  for (size_t size :
       {0ul, 1ul, 4095ul, 4096ul, 4097ul, (1ul << 20) + 3, (20ul << 20) + 5}) {
    AddEnvelope("a/size-" + std::to_string(size), size, 4096, 0);
  }
  for (uint32_t sector = 512; sector <= 65536; sector *= 2) {
    AddEnvelope("a/b/sector-" + std::to_string(sector), 300007, sector, 0);
    AddEnvelope("a/b/prefixed-" + std::to_string(sector), 300007, sector, 4096);
  }
  AddEnvelope("untagged", 123457, 4096, 4096, false);
  const std::vector<uint8_t> plain = RandomBytes(5000, 1);
  WriteFileOrDie(src_ + "/a/notes.txt", plain);
  expected_["a/notes.txt"] = plain;
  StartMount();

  for (const auto& [name, data] : expected_) {
    SCOPED_TRACE(name);
    const std::string path = mnt_ + "/" + name;
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(static_cast<size_t>(st.st_size), data.size());
    EXPECT_TRUE(ReadFileOrFail(path) == data);
    // Random preads at odd offsets and lengths.
    int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::mt19937_64 gen(data.size());
    std::vector<uint8_t> buf(200000);
    for (int i = 0; i < 50 && !data.empty(); ++i) {
      const size_t off = gen() % data.size();
      const size_t len = 1 + gen() % buf.size();
      const ssize_t got = pread(fd, buf.data(), len, static_cast<off_t>(off));
      ASSERT_EQ(got, static_cast<ssize_t>(std::min(len, data.size() - off)));
      ASSERT_TRUE(
          std::equal(buf.begin(), buf.begin() + got, data.begin() + off))
          << off;
    }
    // And through mmap.
    if (!data.empty()) {
      void* map = mmap(nullptr, data.size(), PROT_READ, MAP_PRIVATE, fd, 0);
      ASSERT_NE(map, MAP_FAILED);
      EXPECT_EQ(memcmp(map, data.data(), data.size()), 0);
      munmap(map, data.size());
    }
    close(fd);
  }
}

// Eight threads read three files at random through a mount with `options`
// (direct_io: every read reaches the daemon).
void MountReadTest::ReadInParallel(const std::vector<std::string>& options) {
  for (int i = 0; i < 3; ++i)
    AddEnvelope("f" + std::to_string(i), (6 << 20) + i * 1001, 4096, 0);
  StartMount(options);
  std::atomic<int> mismatches{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string name =
          "f" + std::to_string(t % 3);  // same and different files
      const auto& data = expected_[name];
      int fd = open((mnt_ + "/" + name).c_str(), O_RDONLY);
      std::mt19937_64 gen(t);
      std::vector<uint8_t> buf(1 << 20);
      for (int i = 0; i < 150; ++i) {
        const size_t off = gen() % data.size();
        const size_t len = 1 + gen() % buf.size();
        const ssize_t got = pread(fd, buf.data(), len, static_cast<off_t>(off));
        ++reads;
        if (got != static_cast<ssize_t>(std::min(len, data.size() - off)) ||
            !std::equal(buf.begin(), buf.begin() + got, data.begin() + off)) {
          ++mismatches;
        }
      }
      close(fd);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(reads.load(), 8 * 150);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(MountReadTest, ParallelReadersSeeNoMismatch) {
  ReadInParallel({"direct_io"});
}

// `dumpcrypt seal` writes under a temporary name and renames into place; a
// dump must read decrypted even if the kernel saw it before it was complete,
// and one rewritten in place must read as it is now, right away.
TEST_F(MountReadTest, DumpsThatChangeWhileMountedReadAsTheyAreNow) {
  AddEnvelope("old", 70000, 4096, 0);
  StartMount();
  const std::string temp = src_ + "/.new.dce.tmp";
  WriteFileOrDie(temp, std::vector<uint8_t>(4096, 0));
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/.new.dce.tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);
  const std::vector<uint8_t> fresh = RandomBytes(50000, 8);
  Seal("sealed.dce", fresh);
  WriteFileOrDie(temp, ReadFileOrFail(src_ + "/sealed.dce"));
  ASSERT_EQ(rename(temp.c_str(), (src_ + "/new.dce").c_str()), 0);
  ASSERT_EQ(stat((mnt_ + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 50000);
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/new") == fresh);

  ASSERT_TRUE(ReadFileOrFail(mnt_ + "/old") == expected_["old"]);
  WriteFileOrDie(src_ + "/old.dce", ReadFileOrFail(src_ + "/sealed.dce"));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/old") == fresh);
  ASSERT_EQ(stat((mnt_ + "/old").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 50000);
}

TEST_F(MountReadTest, OffsetsPastFourGiB) {
  // A sparse dump a little over 4 GiB with random bytes around 2^32.
  constexpr uint64_t kFour = uint64_t{1} << 32;
  constexpr uint64_t kSize = kFour + (1 << 20) + 123;
  const std::string sparse = dir_.File("big.core");
  const std::vector<uint8_t> around =
      RandomBytes(1 << 20, 42);  // [2^32 - 512 KiB, 2^32 + 512 KiB)
  {
    int fd = open(sparse.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_EQ(ftruncate(fd, static_cast<off_t>(kSize)), 0);
    ASSERT_EQ(pwrite(fd, around.data(), around.size(),
                     static_cast<off_t>(kFour - (1 << 19))),
              static_cast<ssize_t>(around.size()));
    close(fd);
  }
  ToolResult r =
      RunTool({ToolPath("dumpcrypt"), "seal", "--keystore", keystore_,
               "--key-id", "k1", sparse, src_ + "/big.dce"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  unlink(sparse.c_str());
  StartMount();
  const std::string path = mnt_ + "/big";
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kSize);
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> buf(1 << 20);
  for (int64_t delta :
       {-(1 << 19), -4097, -4096, -1, 0, 1, 4095, 4096, (1 << 19) - 10}) {
    const uint64_t off = kFour + delta;
    const size_t len =
        static_cast<size_t>(std::min<uint64_t>(kFour + (1 << 19) - off, 70000));
    ASSERT_EQ(pread(fd, buf.data(), len, static_cast<off_t>(off)),
              static_cast<ssize_t>(len));
    EXPECT_TRUE(std::equal(
        buf.begin(), buf.begin() + len,
        around.begin() + static_cast<size_t>(off - (kFour - (1 << 19)))))
        << "offset 2^32" << (delta < 0 ? "" : "+") << delta;
  }
  // The zeros after the marked range, and the very end of the file.
  ASSERT_EQ(pread(fd, buf.data(), 4096, static_cast<off_t>(kSize - 100)), 100);
  EXPECT_TRUE(std::all_of(buf.begin(), buf.begin() + 100,
                          [](uint8_t b) { return b == 0; }));
  close(fd);
}

TEST_F(MountReadTest, GdbBacktraceThroughTheMount) {
  const std::string work = dir_.File("work");
  SealSampleCore(work);
  StartMount();
  const std::string plain =
      GdbFrames(work + "/crashme", work + "/core.crashme");
  const std::string mounted =
      GdbFrames(work + "/crashme", mnt_ + "/core.crashme");
  EXPECT_THAT(plain, HasSubstr("checksum_block"));
  EXPECT_THAT(plain, HasSubstr("parse_request"));
  EXPECT_THAT(plain, HasSubstr("main"));
  EXPECT_EQ(mounted, plain);
}

}  // namespace
}  // namespace dumpcrypt::testing
