// A user who is not root mounts a folder of their own and unmounts it with
// fusermount3, as on a Debian machine, where udev makes /dev/fuse 0666 (the
// test sets that and restores the mode it found). The daemon hardens itself
// as it does for root: not dumpable, no core, its memory locked where
// RLIMIT_MEMLOCK allows, and a warning where it does not. And the same user
// mounts inside a user and mount namespace of their own.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fs/mount_fixture.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

// StatusField is the value of `name:` in /proc/PID/status.
std::string StatusField(pid_t pid, const std::string& name) {
  for (absl::string_view line :
       absl::StrSplit(ReadText(absl::StrCat("/proc/", pid, "/status")), '\n')) {
    if (absl::ConsumePrefix(&line, name + ":")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "";
}

// Under a sanitizer mlockall is a no-op that succeeds: nothing is locked and
// nothing is said.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMlockallWorks = false;
#else
constexpr bool kMlockallWorks = true;
#endif

class NonRootMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!FuseUsable(&why)) GTEST_SKIP() << why;
    if (RunTool({"sh", "-c", "command -v useradd && command -v setpriv"})
            .exit_code != 0) {
      GTEST_SKIP() << "no useradd or setpriv";
    }
    struct stat st;
    ASSERT_EQ(stat("/dev/fuse", &st), 0);
    fuse_mode_ = st.st_mode & 07777;
    ASSERT_EQ(chmod("/dev/fuse", 0666), 0);
    user_ = absl::StrCat("dctest", getpid());
    ToolResult r =
        RunTool({"useradd", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", user_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const passwd* pw = getpwnam(user_.c_str());
    ASSERT_NE(pw, nullptr);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    // The user's own folders, under the test's 0700 one.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
    for (const std::string& d : {src_, mnt_}) {
      ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
      ASSERT_EQ(chown(d.c_str(), uid_, gid_), 0);
    }
    data_ = RandomBytes(300 * 1024, 11);
    WriteFileOrDie(dir_.File("plain"), data_);
    r = Dumpcrypt({"keystore", "new", "--keystore", ks_, "--key-id", "k"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Dumpcrypt({"seal", "--keystore", ks_, "--key-id", "k",
                   dir_.File("plain"), src_ + "/core.dce"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& f : {ks_, src_ + "/core.dce"}) {
      ASSERT_EQ(chown(f.c_str(), uid_, gid_), 0);
    }
  }
  void TearDown() override {
    if (fuse_mode_ != 0) chmod("/dev/fuse", fuse_mode_);
    // userdel refuses while a process of the user lives: a daemon that was
    // unmounted a moment ago may still be ending.
    bool gone = uid_ == 0;
    for (int i = 0; !gone && i < 100; ++i) {
      gone = RunTool({"userdel", user_}).exit_code == 0;
      if (!gone) absl::SleepFor(absl::Milliseconds(50));
    }
    if (!gone) RunTool({"userdel", "--force", user_});
  }

  ToolResult Dumpcrypt(std::vector<std::string> args) {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args);
  }
  // AsUser is `command` run as the test's user, with `memlock` bytes as
  // its RLIMIT_MEMLOCK ("" keeps the test's).
  std::vector<std::string> AsUser(const std::string& memlock,
                                  std::vector<std::string> command = {}) {
    std::vector<std::string> argv;
    if (!memlock.empty()) {
      argv = {"prlimit", absl::StrCat("--memlock=", memlock)};
    }
    argv.insert(argv.end(), {"setpriv", absl::StrCat("--reuid=", uid_),
                             absl::StrCat("--regid=", gid_), "--clear-groups"});
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
  // MountReadUnmount mounts src_ at mnt_ as the user, reads the dump through it
  // as the user, and unmounts it with fusermount3 as the user. Returns the
  // daemon's log.
  std::string MountReadUnmount(const std::string& memlock) {
    const std::string log = dir_.File(absl::StrCat("daemon.log", memlock));
    auto mount =
        Mount::Start(src_, mnt_, {"keystore=" + ks_}, log, AsUser(memlock));
    EXPECT_TRUE(mount.ok()) << mount.status() << ReadText(log);
    if (!mount.ok()) return "";
    const pid_t pid = (*mount)->pid();
    EXPECT_EQ(StatusField(pid, "Uid"),
              absl::StrCat(uid_, "\t", uid_, "\t", uid_, "\t", uid_));
    // Not dumpable: the kernel gives its /proc files to root.
    struct stat st;
    EXPECT_EQ(stat(absl::StrCat("/proc/", pid, "/environ").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_THAT(ReadText(absl::StrCat("/proc/", pid, "/limits")),
                ::testing::ContainsRegex("Max core file size +0 +0"));
    locked_ = StatusField(pid, "VmLck");
    const ToolResult read = RunTool(AsUser(memlock, {"cat", mnt_ + "/core"}));
    EXPECT_EQ(read.exit_code, 0) << read.err;
    EXPECT_TRUE(read.out == std::string(data_.begin(), data_.end()));
    const ToolResult unmount =
        RunTool(AsUser(memlock, {"fusermount3", "-u", mnt_}));
    EXPECT_EQ(unmount.exit_code, 0) << unmount.err;
    EXPECT_EQ((*mount)->WaitExit(absl::Seconds(10)), 0);
    EXPECT_FALSE(IsMounted(mnt_));
    return ReadText(log);
  }

  TempDir dir_;
  const std::string src_ = dir_.File("src");
  const std::string mnt_ = dir_.File("mnt");
  const std::string ks_ = dir_.File("ks");
  std::string user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  mode_t fuse_mode_ = 0;
  std::vector<uint8_t> data_;
  std::string locked_;  // VmLck of the last daemon
};

// With the limit it inherits (Debian gives users 8 MiB, too little for
// mlockall; root, or a raised limit, is enough), the daemon locks its memory
// or says that it could not.
TEST_F(NonRootMountTest, MountsReadsAndUnmountsItsMemoryLockedOrAWarning) {
  const std::string log = MountReadUnmount("");
  ASSERT_THAT(locked_, ::testing::EndsWith(" kB"));
  if (!kMlockallWorks) return;
  EXPECT_EQ(locked_ == "0 kB", absl::StrContains(log, "cannot lock memory"))
      << locked_ << "\n"
      << log;
}

TEST_F(NonRootMountTest, AMemlockLimitTooSmallIsAWarningNotAFailure) {
  const std::string log = MountReadUnmount("65536");
  if (!kMlockallWorks) return;
  EXPECT_THAT(log, ::testing::HasSubstr("warning: cannot lock memory"));
}

// An analyst without root: dumpcryptfs in a user and mount namespace of
// their own (unshare -Urm), where a sandboxed tool reads it; nobody outside
// sees the mount, and it goes with the namespace.
TEST_F(NonRootMountTest, MountsInsideAnUnprivilegedUserAndMountNamespace) {
  const std::string script = absl::StrCat(
      "set -e; ", ToolPath("dumpcryptfs"), " -o keystore=", ks_, " ", src_, " ",
      mnt_, "; grep -c ' ", mnt_, " fuse.dumpcryptfs' /proc/self/mounts; ",
      "sha256sum < ", mnt_, "/core; umount ", mnt_);
  const ToolResult r =
      RunTool(AsUser("", {"unshare", "-Urm", "sh", "-c", script}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            absl::StrCat("1\n", Sha256OfFile(dir_.File("plain")), "  -\n"));
  EXPECT_FALSE(IsMounted(mnt_));
}

}  // namespace
}  // namespace dumpcrypt::testing
