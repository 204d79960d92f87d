// Who may decrypt through an allow_other mount: file modes let another user
// list and read plain files, but envelopes open only for root, the mounting
// user and the users and groups the policy names (for every envelope, or for
// those of a provider or keyID).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <utility>

#include "gmock/gmock.h"
#include "tests/fs/mount_test_base.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MountPolicyTest : public MountTestBase {
 protected:
  void SetUp() override {
    MountTestBase::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Another user reaches the mount and finds the files readable by mode.
    for (const std::string& d : {dir_.path(), src_, mnt_})
      ASSERT_EQ(chmod(d.c_str(), 0755), 0);
    Seal("core.dce", core_);
    ASSERT_EQ(chmod((src_ + "/core.dce").c_str(), 0644), 0);
    std::ofstream(src_ + "/notes.txt") << "plain\n";
    ASSERT_EQ(chmod((src_ + "/notes.txt").c_str(), 0644), 0);
  }
  // CatAs reads `shown` through the mount as uid/gid 65534 (nobody) with
  // the supplementary groups `groups` ("" for none).
  ToolResult CatAs(const std::string& shown, const std::string& groups) {
    std::vector<std::string> argv = {"setpriv", "--reuid", "65534", "--regid",
                                     "65534"};
    if (groups.empty()) {
      argv.push_back("--clear-groups");
    } else {
      argv.insert(argv.end(), {"--groups", groups});
    }
    argv.insert(argv.end(), {"cat", mnt_ + "/" + shown});
    return RunTool(argv);
  }

  const std::vector<uint8_t> core_ = RandomBytes(50000, 41);
};

TEST_F(MountPolicyTest, OtherUsersDecryptOnlyWhenNamed) {
  StartMount({"allow_other"});
  ToolResult r = CatAs("core", "");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Permission denied"));
  r = CatAs("notes.txt", "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "plain\n");
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == core_);  // root still may
  mount_.reset();
  EXPECT_THAT(Audit(), HasSubstr("\"event\":\"decrypt_refused\""));
  EXPECT_THAT(Log(), HasSubstr("uid 65534 may not decrypt"));

  StartMount({"allow_other", "decrypt_group=4242"});
  r = CatAs("core", "4242");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::vector<uint8_t>(r.out.begin(), r.out.end()) == core_);
  EXPECT_NE(CatAs("core", "4243").exit_code, 0);
  mount_.reset();

  StartMount({"allow_other", "decrypt_user=65534"});
  r = CatAs("core", "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(MountPolicyTest, ScopedGrantsOpenOnlyTheEnvelopesTheirKeysName) {
  Seal("other.dce", core_, {}, {"local", "k2"});
  ASSERT_EQ(chmod((src_ + "/other.dce").c_str(), 0644), 0);
  StartMount({"allow_other", "decrypt_group=4242:key=k1",
              "decrypt_user=65534:provider=elsewhere"});
  ToolResult r = CatAs("core", "4242");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::vector<uint8_t>(r.out.begin(), r.out.end()) == core_);
  r = CatAs("other", "4242");  // k2: refused before any key is asked for
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Permission denied"));
  EXPECT_NE(CatAs("core", "").exit_code, 0);  // no slot names 'elsewhere'
  mount_.reset();
  EXPECT_THAT(Log(), HasSubstr("other.dce: uid 65534 may not decrypt"));
  EXPECT_THAT(Audit(), Not(HasSubstr("\"event\":\"key_missing\"")));

  StartMount({"allow_other", "decrypt_user=nobody:provider=local"});
  r = CatAs("core", "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(MountPolicyTest, AnUnknownUserGroupOrScopeIsAUsageError) {
  const std::pair<const char*, const char*> cases[] = {
      {"decrypt_user=no-such-user-dc", "no such user"},
      {"decrypt_group=no-such-group-dc", "no such group"},
      {"decrypt_group=0:tenant=x", "provider=NAME or key=KEYID"},
      {"decrypt_user=0:key=", "provider=NAME or key=KEYID"},
      {"decrypt_user=0:provider=", "provider=NAME or key=KEYID"}};
  for (const auto& [option, why] : cases) {
    const ToolResult r =
        RunTool({ToolPath("dumpcryptfs"), "-f", "-o",
                 "keystore=" + keystore_ + "," + option, src_, mnt_});
    EXPECT_NE(r.exit_code, 0) << option;
    EXPECT_THAT(r.err, HasSubstr(why)) << option;
    EXPECT_FALSE(IsMounted(mnt_));
  }
}

}  // namespace
}  // namespace dumpcrypt::testing
