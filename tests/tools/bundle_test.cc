// Support bundles, made and checked as support would: a folder bundled under
// a password or a recipient, unpacked with tar elsewhere, opened with that
// secret alone; tampering found; plaintext dumps refused.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kCheap = {"--argon2-memory", "8",
                                         "--argon2-lanes", "1"};

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"host-key", "vm-key"}) {
      ASSERT_EQ(
          Run({"keystore", "new", "--keystore", ks_, "--key-id", id}).exit_code,
          0);
    }
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((src_ + "/vm").c_str(), 0755), 0);
    WriteFileOrDie(dir_.File("core1"), core1_);
    WriteFileOrDie(dir_.File("core2"), core2_);
    ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                   dir_.File("core1"), src_ + "/core.hostd.1.dce"})
                  .exit_code,
              0);
    ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "vm-key",
                   dir_.File("core2"), src_ + "/vm/core.vmx.2.dce"})
                  .exit_code,
              0);
    std::ofstream(src_ + "/vmkernel.log") << "a log line\n";
    WriteSecretFile(pw_, "incident 4711\n");
  }
  ToolResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args);
  }
  ToolResult Bundle(const std::vector<std::string>& key) {
    std::vector<std::string> args = {"bundle", "-o", tar_, "--keystore", ks_};
    args.insert(args.end(), key.begin(), key.end());
    args.insert(args.end(), kCheap.begin(), kCheap.end());
    args.push_back(src_);
    return Run(args);
  }

  TempDir dir_;
  const std::string ks_ = dir_.File("ks");
  const std::string src_ = dir_.File("var-core");
  const std::string pw_ = dir_.File("pw");
  const std::string tar_ = dir_.File("incident-4711.tar");
  const std::vector<uint8_t> core1_ = RandomBytes(300000, 1);
  const std::vector<uint8_t> core2_ = RandomBytes(123457, 2);
};

TEST_F(BundleTest, OnlyThePasswordOpensItAndTarUnpacksIt) {
  ToolResult r = Bundle({"--password-file", pw_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"bundle", "--verify", tar_, "--password-file", pw_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 members, every hash and sector tag"));

  // Elsewhere, with only the password: no key store.
  const std::string there = dir_.File("support");
  ASSERT_EQ(mkdir(there.c_str(), 0700), 0);
  r = RunTool({"tar", "-xf", tar_, "-C", there});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [member, plain] :
       std::vector<std::pair<std::string, std::vector<uint8_t>>>{
           {"core.hostd.1.dce", core1_}, {"vm/core.vmx.2.dce", core2_}}) {
    const std::string out = there + "/" + member + ".out";
    r = Run({"extract", "--password-file", pw_, there + "/" + member, out});
    ASSERT_EQ(r.exit_code, 0) << member << ": " << r.err;
    EXPECT_TRUE(ReadFileOrFail(out) == plain) << member;
    r = Run({"extract", "--keystore", ks_, there + "/" + member, out + "2"});
    EXPECT_EQ(r.exit_code, 3) << member;  // the host's keys no longer open it
  }
  auto log = ReadFileOrFail(there + "/vmkernel.log");
  EXPECT_EQ(std::string(log.begin(), log.end()), "a log line\n");
  auto text = ReadFileOrFail(there + "/MANIFEST.json");
  const nlohmann::json manifest =
      nlohmann::json::parse(std::string(text.begin(), text.end()));
  std::map<std::string, std::string> original;
  for (const auto& m : manifest["members"])
    original[m["path"]] = m.value("original_key_id", "-");
  EXPECT_EQ(original, (std::map<std::string, std::string>{
                          {"core.hostd.1.dce", "host-key"},
                          {"vm/core.vmx.2.dce", "vm-key"},
                          {"vmkernel.log", "-"}}));

  WriteSecretFile(dir_.File("wrong"), "incident 4712\n");
  r = Run({"bundle", "--verify", tar_, "--password-file", dir_.File("wrong")});
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(BundleTest, TamperingWithAMemberOrTheManifestIsFound) {
  ASSERT_EQ(Bundle({"--password-file", pw_}).exit_code, 0);
  const std::vector<uint8_t> good = ReadFileOrFail(tar_);
  const std::string text(good.begin(), good.end());
  // A byte of sector data of the first dump (past its 4096-byte head).
  std::vector<uint8_t> bad = good;
  bad[text.find("\x89"
                "DCE") +
      4096 + 100] ^= 1;
  WriteFileOrDie(tar_, bad);
  ToolResult r = Run({"bundle", "--verify", tar_, "--password-file", pw_});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("core.hostd.1.dce"));
  // The manifest, made to agree with a changed log.
  bad = good;
  const size_t at = text.find("\"size\": 11");
  ASSERT_NE(at, std::string::npos);
  bad[at + 9] = '2';
  WriteFileOrDie(tar_, bad);
  r = Run({"bundle", "--verify", tar_, "--password-file", pw_});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("the manifest was changed"));
}

// A manifest sealed by someone with the password but not a manifest: an
// error that names it, not a crash.
TEST_F(BundleTest, AManifestThatIsNoManifestIsDamage) {
  const std::string manifest = dir_.File("MANIFEST.json");
  std::ofstream(manifest) << "[1, 2]\n";
  ToolResult r = Run({"seal", "--add-password-file", pw_, "--argon2-memory",
                      "8", manifest, manifest + ".dce"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunTool({"tar", "-cf", tar_, "-C", dir_.path(), "MANIFEST.json",
               "MANIFEST.json.dce"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"bundle", "--verify", tar_, "--password-file", pw_});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("is not a bundle manifest"));
}

TEST_F(BundleTest, ARecipientBundleOpensWithTheIdentity) {
  ASSERT_EQ(Run({"keygen", dir_.File("support")}).exit_code, 0);
  ASSERT_EQ(Bundle({"--recipient", dir_.File("support.pub")}).exit_code, 0);
  ToolResult r =
      Run({"bundle", "--verify", tar_, "--identity", dir_.File("support")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Run({"bundle", "--verify", tar_, "--password-file", pw_});
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(BundleTest, RefusesPlaintextDumpsAndCompressedBundles) {
  // An ELF core header: e_type 4 at offset 16.
  std::vector<uint8_t> core = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0,    0,
                               0,    0,   0,   0,   0, 0, 4, 0, 0x3e, 0};
  core.resize(4096);
  WriteFileOrDie(src_ + "/core.plain", core);
  ToolResult r = Bundle({"--password-file", pw_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("core.plain"));
  EXPECT_THAT(r.err, HasSubstr("plaintext core dump"));
  EXPECT_EQ(access(tar_.c_str(), F_OK), -1);
  unlink((src_ + "/core.plain").c_str());

  r = Run(
      {"bundle", "-o", dir_.File("b.tar.gz"), "--password-file", pw_, src_});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(Bundle({"--password-file", pw_}).exit_code, 0);
  ASSERT_EQ(RunTool({"gzip", tar_}).exit_code, 0);
  r = Run({"bundle", "--verify", tar_ + ".gz", "--password-file", pw_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("uncompress it first"));
}

}  // namespace
}  // namespace dumpcrypt::testing
