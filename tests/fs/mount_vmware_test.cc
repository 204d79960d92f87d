// VMware .ve files through the mount: the real ESXi file, generated files
// (make_ve.py) at offset 0 and 4096, unknown contexts, wrong keys.
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <random>

#include "gmock/gmock.h"
#include "tests/fs/mount_test_base.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

const std::string kSource = DUMPCRYPT_SOURCE_DIR;
const std::string kShared = kSource + "/../shared/testdata/vmware";

class MountVmwareTest : public MountTestBase {
 protected:
  void SetUp() override {
    MountTestBase::SetUp();
    if (IsSkipped()) return;
    if (RunTool({"/usr/bin/python3", "-c", "import cryptography"}).exit_code !=
        0) {
      GTEST_SKIP() << "needs /usr/bin/python3 with python3-cryptography";
    }
  }
  // Generate writes SOURCE/name.ve, sealed under key k1, and returns the
  // decrypted view the mount must show (prefix, then payload).
  std::vector<uint8_t> Generate(
      const std::string& name, size_t size, uint64_t offset,
      const std::string& context = "ESXConfiguration") {
    const std::vector<uint8_t> payload =
        RandomBytes(size, static_cast<uint32_t>(size + offset));
    WriteFileOrDie(dir_.File("payload"), payload);
    const std::string out = src_ + "/" + name + ".ve";
    ToolResult r = RunTool(
        {"/usr/bin/python3", kSource + "/tests/tools/make_ve.py", "--key",
         ToHex(kek_.span()), "--iv", "a1a2a3a4a5a6a7a8a9aaabac", "--key-info",
         "k1", "--context", context, "--offset", std::to_string(offset),
         dir_.File("payload"), out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<uint8_t> view = ReadFileOrFail(out);
    view.resize(offset);
    view.insert(view.end(), payload.begin(), payload.end());
    return view;
  }
  std::string Xattr(const std::string& path, const std::string& name) {
    char value[512];
    ssize_t n = getxattr(path.c_str(), name.c_str(), value, sizeof(value));
    return n < 0 ? "errno " + std::to_string(errno) : std::string(value, n);
  }
};

// A .ve whose version is unknown looks like any damaged envelope: size 0,
// EIO, and user.dumpcrypt.error says why (not its raw bytes).
TEST_F(MountVmwareTest, UnknownVersionIsADamagedEnvelope) {
  Generate("good", 20000, 0);
  Generate("future", 20000, 0);
  std::vector<uint8_t> bytes = ReadFileOrFail(src_ + "/future.ve");
  bytes[0x1FC] = 3;  // the version
  WriteFileOrDie(src_ + "/future.ve", bytes);
  StartMount();
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/future").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  const int fd = open((mnt_ + "/future").c_str(), O_RDONLY);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(errno, EIO);
  if (fd >= 0) close(fd);
  EXPECT_THAT(Xattr(mnt_ + "/future", "user.dumpcrypt.error"),
              HasSubstr("version 3"));
  EXPECT_EQ(access((mnt_ + "/future.ve").c_str(), F_OK), -1);
  ASSERT_EQ(stat((mnt_ + "/good").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
}

TEST_F(MountVmwareTest, RealEsxiFileThroughTheMount) {
  DC_SKIP_WITHOUT_REAL_ESXI_FILES(kShared);
  ASSERT_EQ(RunTool({"cp", kShared + "/local.tgz.ve", src_ + "/"}).exit_code,
            0);
  StartMount({"vmware_keystore=" + kShared + "/encryption.info"});
  const std::string path = mnt_ + "/local.tgz";
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 98304);  // an upper bound before the first open
  EXPECT_EQ(Xattr(path, "user.dumpcrypt.verified"), "untried");
  EXPECT_EQ(Xattr(path, "user.dumpcrypt.key_id"),
            "7e62cec5-6aef-4d7e-838b-cae32eefd251");
  ToolResult sum = RunTool({"sha256sum", path});
  EXPECT_THAT(
      sum.out,
      HasSubstr(
          "fe131620351b9fd5fc4aef219bf3211340f3742464c038e1695e7b6667f86952"));
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 94293);  // exact, and the kernel was told
  EXPECT_EQ(Xattr(path, "user.dumpcrypt.verified"),
            "yes (context ESXConfiguration)");
}

TEST_F(MountVmwareTest, GeneratedFilesReadBackInRandomRanges) {
  const std::vector<uint8_t> flat = Generate("config", 200003, 0);
  const std::vector<uint8_t> zdump =
      Generate("vmkernel-zdump", (1 << 20) + 11, 4096);
  StartMount({"direct_io"});
  for (const auto& [name, view] :
       {std::pair<std::string, const std::vector<uint8_t>*>{"config", &flat},
        {"vmkernel-zdump", &zdump}}) {
    SCOPED_TRACE(name);
    const std::string path = mnt_ + "/" + name;
    int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << errno;
    std::mt19937_64 gen(view->size());
    std::vector<uint8_t> buf(100000);
    for (int i = 0; i < 200; ++i) {
      const size_t off = gen() % view->size();
      const size_t len = 1 + gen() % buf.size();
      const ssize_t got = pread(fd, buf.data(), len, static_cast<off_t>(off));
      ASSERT_EQ(got, static_cast<ssize_t>(std::min(len, view->size() - off)));
      ASSERT_TRUE(
          std::equal(buf.begin(), buf.begin() + got, view->begin() + off))
          << off << "+" << len;
    }
    close(fd);
    EXPECT_TRUE(ReadFileOrFail(path) == *view);
  }
}

TEST_F(MountVmwareTest, UnknownContextIsEioUnlessAddedOrAllowed) {
  const std::vector<uint8_t> view =
      Generate("core", 50000, 4096, "VMX core dump");
  StartMount();
  EXPECT_EQ(open((mnt_ + "/core").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_THAT(Log(), HasSubstr("core.ve: no context verifies its GCM tag "
                               "(tried: ESXConfiguration)"));
  EXPECT_EQ(Xattr(mnt_ + "/core", "user.dumpcrypt.verified"), "no");
  mount_.reset();
  StartMount({"ve_context=VMX core dump"});
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == view);
  EXPECT_EQ(Xattr(mnt_ + "/core", "user.dumpcrypt.verified"),
            "yes (context VMX core dump)");
  mount_.reset();
  StartMount({"ve_unverified=allow"});
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == view);
  EXPECT_EQ(Xattr(mnt_ + "/core", "user.dumpcrypt.verified"), "no");
}

TEST_F(MountVmwareTest, WrongKeyIsEnokey) {
  Generate("core", 5000, 0);
  auto store = LocalKeyStore::OpenOrCreate(dir_.File("other-ks"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      (*store)->Add("k1", SecretBytes::CopyOf(RandomBytes(32, 1))).ok());
  ASSERT_EQ(mkdir(dir_.File("mnt2").c_str(), 0755), 0);
  auto mount = Mount::Start(src_, dir_.File("mnt2"),
                            {"keystore=" + dir_.File("other-ks")}, log_);
  ASSERT_TRUE(mount.ok()) << mount.status();
  EXPECT_EQ(open((dir_.File("mnt2") + "/core").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOKEY);
  EXPECT_THAT(Log(), HasSubstr("keyHash"));
}

}  // namespace
}  // namespace dumpcrypt::testing
