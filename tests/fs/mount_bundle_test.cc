// A support bundle mounted as it is, where support works: a fresh folder
// holding the tar and the password, nothing else (no key store).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "tests/fs/mount_test_base.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class MountBundleTest : public MountTestBase {
 protected:
  void SetUp() override {
    MountTestBase::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(support_.c_str(), 0700), 0);
    ASSERT_EQ(mkdir((src_ + "/vm").c_str(), 0755), 0);
    Seal("core.hostd.1.dce", core_);
    Seal("vm/core.vmx.2.dce", core_);
    std::ofstream(src_ + "/vmkernel.log") << "a log line\n";
    WriteSecretFile(pw_, "incident 4711\n");
  }

  // MakeBundle bundles src_ under the password into support_/incident.tar.
  void MakeBundle() {
    const ToolResult r =
        RunTool({ToolPath("dumpcrypt"), "bundle", "-o", tar_, "--keystore",
                 keystore_, "--password-file", pw_, "--argon2-memory", "8",
                 "--argon2-lanes", "1", src_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void MountBundle(const std::string& password_file) {
    auto mount = Mount::Start(tar_, mnt_,
                              {"bundle_password_file=" + password_file}, log_);
    ASSERT_TRUE(mount.ok()) << mount.status() << "\n" << Log();
    mount_ = std::move(mount).value();
  }
  std::vector<std::string> Listed(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      names.push_back(e.path().filename());
    return names;
  }

  const std::string support_ = dir_.File("support");
  const std::string tar_ = support_ + "/incident-4711.tar";
  const std::string pw_ = support_ + "/pw";
  const std::vector<uint8_t> core_ = RandomBytes(400000, 31);
};

TEST_F(MountBundleTest, GdbBacktraceThroughTheBundleWithOnlyThePassword) {
  const std::string work = dir_.File("work");
  SealSampleCore(work);
  MakeBundle();
  MountBundle(pw_);

  EXPECT_THAT(
      Listed(mnt_),
      UnorderedElementsAre("core.hostd.1", "core.crashme", "vm", "vmkernel.log",
                           "MANIFEST.json", "MANIFEST.json.dce"));
  EXPECT_THAT(Listed(mnt_ + "/vm"), UnorderedElementsAre("core.vmx.2"));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core.hostd.1") == core_);
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/vm/core.vmx.2") == core_);
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/MANIFEST.json.dce") ==
              ReadFileOrFail(mnt_ + "/MANIFEST.json"));
  EXPECT_EQ(Sha256OfFile(mnt_ + "/vmkernel.log"),
            Sha256OfFile(src_ + "/vmkernel.log"));
  char value[64] = {};
  ASSERT_GT(getxattr((mnt_ + "/core.crashme").c_str(), "user.dumpcrypt.slots",
                     value, sizeof(value) - 1),
            0);
  EXPECT_STREQ(value, "password");

  const std::string plain =
      GdbFrames(work + "/crashme", work + "/core.crashme");
  EXPECT_THAT(plain, HasSubstr("checksum_block"));
  EXPECT_THAT(plain, HasSubstr("parse_request"));
  EXPECT_EQ(GdbFrames(work + "/crashme", mnt_ + "/core.crashme"), plain);
  EXPECT_EQ(mount_->Unmount(), 0);
}

TEST_F(MountBundleTest, AWrongPasswordIsEnokeyNamingTheMember) {
  MakeBundle();
  WriteSecretFile(dir_.File("wrong"), "incident 4712\n");
  MountBundle(dir_.File("wrong"));
  const int fd = open((mnt_ + "/vm/core.vmx.2").c_str(), O_RDONLY);
  const int err = errno;
  if (fd >= 0) close(fd);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(err, ENOKEY);
  EXPECT_EQ(Sha256OfFile(mnt_ + "/vmkernel.log"),
            Sha256OfFile(src_ + "/vmkernel.log"));  // plain members still read
  mount_.reset();
  EXPECT_THAT(Log(), HasSubstr("vm/core.vmx.2.dce"));
}

TEST_F(MountBundleTest, ACompressedBundleIsRefusedSayingWhatToDo) {
  MakeBundle();
  ASSERT_EQ(RunTool({"gzip", tar_}).exit_code, 0);
  const ToolResult r = RunTool({ToolPath("dumpcryptfs"), "-f", "-o",
                                "password_file=" + pw_, tar_ + ".gz", mnt_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("uncompress it first"));
  EXPECT_FALSE(IsMounted(mnt_));
}

}  // namespace
}  // namespace dumpcrypt::testing
