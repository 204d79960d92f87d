// Shared set-up of the mount tests: a source folder, a key store with key
// "k1", a mountpoint, and helpers to start the mount and read its log.
#ifndef DUMPCRYPT_TESTS_FS_MOUNT_TEST_BASE_H_
#define DUMPCRYPT_TESTS_FS_MOUNT_TEST_BASE_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms/local_keystore.h"
#include "tests/fs/mount_fixture.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {

class MountTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!FuseUsable(&why)) GTEST_SKIP() << why;
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    auto store = LocalKeyStore::OpenOrCreate(keystore_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Add("k1", kek_).ok());
  }
  void TearDown() override {
    mount_.reset();
    // The daemon's own account of a failure, before its folder is removed.
    if (HasFailure() && access(log_.c_str(), R_OK) == 0) {
      std::printf("---- dumpcryptfs log ----\n%s----\n", Log().c_str());
    }
  }

  // StartMount mounts src_ at mnt_ with the key store, the audit log and
  // `extra` options.
  void StartMount(std::vector<std::string> extra = {},
                  const std::vector<std::string>& wrapper = {}) {
    extra.insert(extra.begin(),
                 {"keystore=" + keystore_, "audit_log=" + audit_});
    auto mount = Mount::Start(src_, mnt_, extra, log_, wrapper);
    ASSERT_TRUE(mount.ok()) << mount.status() << "\n" << Log();
    mount_ = std::move(mount).value();
  }

  void Seal(const std::string& name, absl::Span<const uint8_t> data,
            SealOptions options = {}, const KeyRef& ref = {"local", "k1"}) {
    ASSERT_TRUE(SealBuffer(src_ + "/" + name, data, options, kek_, ref).ok());
  }

  // SealSampleCore writes scripts/make-sample-core's program and core to
  // `work` and seals the core into src_ as core.crashme.dce under k1.
  void SealSampleCore(const std::string& work) {
    ToolResult r = RunTool(
        {std::string(DUMPCRYPT_SOURCE_DIR) + "/scripts/make-sample-core",
         work});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunTool({ToolPath("dumpcrypt"), "seal", "--keystore", keystore_,
                 "--key-id", "k1", work + "/core.crashme",
                 src_ + "/core.crashme.dce"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::string Log() const {
    auto bytes = ReadFileOrFail(log_);
    return std::string(bytes.begin(), bytes.end());
  }
  std::string Audit() const {
    if (access(audit_.c_str(), F_OK) != 0) return "";
    auto bytes = ReadFileOrFail(audit_);
    return std::string(bytes.begin(), bytes.end());
  }

  TempDir dir_;
  const std::string src_ = dir_.File("src");
  const std::string mnt_ = dir_.File("mnt");
  const std::string keystore_ = dir_.File("keystore");
  const std::string log_ = dir_.File("daemon.log");
  const std::string audit_ = dir_.File("audit.jsonl");
  SecretBytes kek_ = SecretBytes::CopyOf(RandomBytes(32, 77));
  std::unique_ptr<Mount> mount_;
};

}  // namespace dumpcrypt::testing

#endif  // DUMPCRYPT_TESTS_FS_MOUNT_TEST_BASE_H_
