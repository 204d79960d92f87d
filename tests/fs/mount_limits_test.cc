// The mount and the daemon's limits: the files it shows are not bounded by
// its descriptors (it holds one only per open file), running out of them is
// logged; it writes no core and locks its memory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "tests/fs/mount_test_base.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

class MountLimitsTest : public MountTestBase {};

TEST_F(MountLimitsTest, MoreOpenFilesThanTheSoftFdLimitAreServed) {
  // The daemon lifts its soft limit (64 here, often 1024) to the hard one.
  const std::vector<uint8_t> data = RandomBytes(5000, 10);
  constexpr int kFiles = 200;
  for (int i = 0; i < kFiles; ++i) Seal(absl::StrCat("d", i, ".dce"), data);
  StartMount({}, {"prlimit", "--nofile=64:"});
  std::vector<int> fds;  // all open at once
  absl::Cleanup close_all = [&fds] {
    for (int fd : fds) close(fd);
  };
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = absl::StrCat(mnt_, "/d", i);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0) << path << ": " << strerror(errno);
    EXPECT_EQ(st.st_size, static_cast<off_t>(data.size()));
    const int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
    fds.push_back(fd);
  }
  std::vector<uint8_t> buf(data.size());
  for (int fd : fds) {
    ASSERT_EQ(pread(fd, buf.data(), buf.size(), 0),
              static_cast<ssize_t>(buf.size()));
    EXPECT_TRUE(buf == data);
  }
}

// Issue 22: a walk of more files than the hard limit gave ENOMEM, then
// envelopes under their .dce names and ENOENT for the shown ones.
TEST_F(MountLimitsTest, MoreFilesThanTheHardFdLimitAreServed) {
  const std::vector<uint8_t> data = RandomBytes(3000, 11);
  constexpr int kFiles = 300;
  ASSERT_EQ(mkdir((src_ + "/sub").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i)
    Seal(absl::StrCat(i % 2 ? "sub/" : "", "d", i, ".dce"), data);
  StartMount({}, {"prlimit", "--nofile=64:64"});
  int seen = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(mnt_)) {
    struct stat st;
    ASSERT_EQ(stat(e.path().c_str(), &st), 0)
        << e.path() << ": " << strerror(errno);
    if (S_ISDIR(st.st_mode)) continue;
    EXPECT_FALSE(absl::EndsWith(e.path().string(), ".dce")) << e.path();
    EXPECT_EQ(st.st_size, static_cast<off_t>(data.size())) << e.path();
    ++seen;
  }
  EXPECT_EQ(seen, kFiles);
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = absl::StrCat(mnt_, i % 2 ? "/sub/" : "/", "d", i);
    EXPECT_TRUE(ReadFileOrFail(path) == data) << path;
  }
  // Open at once, more than the limit: the excess fails, and the log says
  // why, once.
  std::vector<int> fds;
  absl::Cleanup close_all = [&fds] {
    for (int fd : fds) close(fd);
  };
  int refused = 0;
  for (int i = 0; i < 200; i += 2) {
    const int fd = open(absl::StrCat(mnt_, "/d", i).c_str(), O_RDONLY);
    if (fd < 0) ++refused;
    if (fd >= 0) fds.push_back(fd);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(fds.size(), 30u);
  const std::string log = Log();
  EXPECT_THAT(log, HasSubstr("as many files open as its limit allows (64)"));
  EXPECT_EQ(log.find("as many files"), log.rfind("as many files"));
}

// A crash of the daemon must not write its keys and plaintext to a core,
// and its memory stays out of swap.
TEST_F(MountLimitsTest, TheDaemonWritesNoCoreAndLocksItsMemory) {
  const std::vector<uint8_t> data = RandomBytes(100000, 12);
  Seal("core.dce", data);
  StartMount();
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
  const std::string proc = absl::StrCat("/proc/", mount_->pid());
  const std::vector<uint8_t> limits = ReadFileOrFail(proc + "/limits");
  std::string core_line;
  for (absl::string_view line :
       absl::StrSplit(std::string(limits.begin(), limits.end()), '\n')) {
    if (absl::StartsWith(line, "Max core file size"))
      core_line = std::string(line);
  }
  EXPECT_THAT(
      std::vector<std::string>(
          absl::StrSplit(core_line, ' ', absl::SkipEmpty())),
      ::testing::ElementsAre("Max", "core", "file", "size", "0", "0", "bytes"));
  const std::vector<uint8_t> status = ReadFileOrFail(proc + "/status");
  const std::string text(status.begin(), status.end());
  const size_t at = text.find("VmLck:");
  ASSERT_NE(at, std::string::npos);
  int64_t locked_kb = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      absl::StripAsciiWhitespace(
          absl::string_view(text).substr(at + 6, text.find("kB", at) - at - 6)),
      &locked_kb));
  EXPECT_GT(locked_kb, 0);
}

}  // namespace
}  // namespace dumpcrypt::testing
