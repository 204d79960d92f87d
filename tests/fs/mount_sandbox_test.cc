// Read-only forensics in a sandbox: the mount's view bound read-only into
// a bubblewrap sandbox (at /mnt) with no network and no writable path, gdb
// in it.
// (dumpcryptfs itself in an unprivileged user namespace is in
// mount_nonroot_test.cc.)
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fs/mount_test_base.h"

namespace dumpcrypt::testing {
namespace {

class MountSandboxTest : public MountTestBase {
 protected:
  ToolResult InSandbox(const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"bwrap",
                                     "--ro-bind",
                                     "/",
                                     "/",
                                     "--dev",
                                     "/dev",
                                     "--proc",
                                     "/proc",
                                     "--ro-bind",
                                     mnt_,
                                     "/mnt",
                                     "--unshare-all",
                                     "--die-with-parent",
                                     "--new-session",
                                     "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    return RunTool(argv);
  }
};

TEST_F(MountSandboxTest,
       GdbInABubblewrapSandboxWithNoNetworkAndNothingWritable) {
  if (RunTool({"sh", "-c", "command -v bwrap"}).exit_code != 0) {
    GTEST_SKIP() << "no bubblewrap (Debian's bubblewrap package)";
  }
  const std::string work = dir_.File("work");
  SealSampleCore(work);
  StartMount();
  const ToolResult bt = InSandbox({"gdb", "-batch", "-nx", "-ex", "bt",
                                   work + "/crashme", "/mnt/core.crashme"});
  ASSERT_EQ(bt.exit_code, 0) << bt.err;
  std::string frames;
  for (absl::string_view line : absl::StrSplit(bt.out, '\n')) {
    if (absl::StartsWith(line, "#")) absl::StrAppend(&frames, line, "\n");
  }
  const std::string plain =
      GdbFrames(work + "/crashme", work + "/core.crashme");
  EXPECT_THAT(plain, ::testing::HasSubstr("checksum_block"));
  EXPECT_EQ(frames, plain);
  // Nothing to write to, the dumps included.
  for (const std::string& path :
       std::vector<std::string>{"/mnt/x", "/tmp/x", dir_.File("x")}) {
    EXPECT_NE(InSandbox({"touch", path}).exit_code, 0) << path;
  }
  // No network: the loopback interface alone.
  const ToolResult net = InSandbox({"cat", "/proc/net/dev"});
  ASSERT_EQ(net.exit_code, 0) << net.err;
  std::vector<std::string> interfaces;
  for (absl::string_view line : absl::StrSplit(net.out, '\n')) {
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos) {
      interfaces.emplace_back(
          absl::StripAsciiWhitespace(line.substr(0, colon)));
    }
  }
  EXPECT_THAT(interfaces, ::testing::ElementsAre("lo"));
}

}  // namespace
}  // namespace dumpcrypt::testing
