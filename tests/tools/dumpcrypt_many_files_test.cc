// dumpcrypt commands over many dumps, run for real: what `keys` counts in a
// folder and says about what it could not read; `verify` of several files.
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ManyFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        Run({"keystore", "new", "--keystore", ks_, "--key-id", "k"}).exit_code,
        0);
    WriteFileOrDie(dir_.File("core"), RandomBytes(10000, 1));
    ASSERT_EQ(mkdir(dumps_.c_str(), 0755), 0);
  }
  ToolResult Run(std::vector<std::string> args,
                 std::vector<std::string> before = {}) {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    before.insert(before.end(), args.begin(), args.end());
    return RunTool(before);
  }
  void Seal(const std::string& out) {
    ToolResult r = Run(
        {"seal", "--keystore", ks_, "--key-id", "k", dir_.File("core"), out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::vector<std::string> Files(const nlohmann::json& j) {
    std::vector<std::string> files;
    for (const auto& d : j["dumps"]) files.push_back(d["file"]);
    return files;
  }

  TempDir dir_;
  const std::string ks_ = dir_.File("ks");
  const std::string dumps_ = dir_.File("dumps");
};

TEST_F(ManyFilesTest, FoldersAreWalkedInOrderWithoutFollowingLinks) {
  TempDir outside;
  ASSERT_NO_FATAL_FAILURE(Seal(outside.File("elsewhere.dce")));
  ASSERT_EQ(mkdir((dumps_ + "/sub").c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/z.dce"));
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/sub/b.dce"));
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/a.dce"));
  ASSERT_EQ(symlink("a.dce", (dumps_ + "/link.dce").c_str()), 0);
  ASSERT_EQ(symlink(outside.path().c_str(), (dumps_ + "/outside").c_str()), 0);
  ASSERT_EQ(symlink("nothing", (dumps_ + "/dangling").c_str()), 0);
  ASSERT_EQ(mkfifo((dumps_ + "/fifo").c_str(), 0644), 0);

  ToolResult r = Run({"keys", "--json", "--keystore", ks_, dumps_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_THAT(Files(j), ElementsAre(dumps_ + "/a.dce", dumps_ + "/sub/b.dce",
                                    dumps_ + "/z.dce"));
  EXPECT_EQ(j["summary"]["dumps"], 3);
  EXPECT_EQ(j["summary"]["unreadable"], 0);
  // A symlink named on the command line is followed.
  r = Run({"keys", "--keystore", ks_, dumps_ + "/link.dce"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 dumps, 1 distinct keys, 0 missing\n"));
}

TEST_F(ManyFilesTest, AFolderThatCannotBeListedIsNamedAndTheWalkGoesOn) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to give a folder away";
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/a.dce"));
  ASSERT_EQ(mkdir((dumps_ + "/locked").c_str(), 0700), 0);
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/locked/x.dce"));
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/m.dce"));
  // Owned by another user and without the capabilities that bypass file
  // permissions, root cannot list it.
  ASSERT_EQ(chown((dumps_ + "/locked").c_str(), 65534, 65534), 0);
  const std::vector<std::string> no_bypass = {"setpriv", "--bounding-set",
                                              "-dac_override,-dac_read_search"};
  ToolResult r = Run({"keys", "--json", "--keystore", ks_, dumps_}, no_bypass);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(dumps_ + "/locked: Permission denied"));
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_THAT(Files(j), ElementsAre(dumps_ + "/a.dce", dumps_ + "/m.dce"));
  EXPECT_EQ(j["summary"]["unreadable"], 1);
  ASSERT_EQ(j["not_read"].size(), 1u);
  EXPECT_EQ(j["not_read"][0]["file"], dumps_ + "/locked");
  EXPECT_EQ(j["not_read"][0]["cause"], "Permission denied");
}

// A dump whose magic is damaged is no envelope to any format: `keys` names
// it (by its suffix) instead of passing over it; a plain file is not named.
TEST_F(ManyFilesTest, KeysNamesFilesThatLookLikeDamagedDumps) {
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/good.dce"));
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/magic.dce"));
  std::vector<uint8_t> bytes = ReadFileOrFail(dumps_ + "/magic.dce");
  bytes[1] ^= 0x20;
  WriteFileOrDie(dumps_ + "/magic.dce", bytes);
  WriteFileOrDie(dumps_ + "/vm.ve", RandomBytes(9000, 3));
  WriteFileOrDie(dumps_ + "/notes.txt", std::vector<uint8_t>{'n'});
  ToolResult r = Run({"keys", "--json", "--keystore", ks_, dumps_});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_THAT(Files(j), ElementsAre(dumps_ + "/good.dce"));
  EXPECT_EQ(j["summary"]["unreadable"], 2);
  std::vector<std::string> unread;
  for (const auto& u : j["not_read"]) unread.push_back(u["file"]);
  EXPECT_THAT(unread, ElementsAre(dumps_ + "/magic.dce", dumps_ + "/vm.ve"));
  EXPECT_THAT(r.err, HasSubstr(dumps_ + "/magic.dce: named like an envelope, "
                                        "but no format recognises it"));
}

TEST_F(ManyFilesTest, VerifyChecksEachFileAndExitsWithTheWorstOutcome) {
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/good.dce"));
  ASSERT_NO_FATAL_FAILURE(Seal(dumps_ + "/bad.dce"));
  std::vector<uint8_t> bytes = ReadFileOrFail(dumps_ + "/bad.dce");
  bytes[4096 + 2 * (4096 + 16) + 10] ^= 0x01;  // sector 2
  WriteFileOrDie(dumps_ + "/bad.dce", bytes);
  WriteFileOrDie(dumps_ + "/notes", std::vector<uint8_t>{'n'});
  const std::string other_ks = dir_.File("other");
  ASSERT_EQ(
      Run({"keystore", "new", "--keystore", other_ks, "--key-id", "other"})
          .exit_code,
      0);
  ToolResult r = Run({"seal", "--keystore", other_ks, "--key-id", "other",
                      dir_.File("core"), dumps_ + "/nokey.dce"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = Run({"verify", "--keystore", ks_, dumps_ + "/good.dce",
           dumps_ + "/nokey.dce", dumps_ + "/bad.dce", dumps_ + "/notes"});
  EXPECT_EQ(r.exit_code, 4);  // damage says more than a missing key
  EXPECT_THAT(r.out, HasSubstr(dumps_ + "/good.dce: OK"));
  EXPECT_THAT(r.out, HasSubstr("4 files: 1 verified, 3 failed"));
  EXPECT_THAT(r.err, HasSubstr(dumps_ + "/bad.dce: integrity check failed "
                                        "at sector 2 "));
  EXPECT_THAT(r.err, HasSubstr(dumps_ + "/nokey.dce: keyID 'other'"));
  EXPECT_THAT(r.err, HasSubstr(dumps_ + "/notes: neither"));
  r = Run({"verify", "--keystore", ks_, dumps_ + "/good.dce",
           dumps_ + "/nokey.dce", dumps_ + "/notes"});
  EXPECT_EQ(r.exit_code, 3);
  r = Run(
      {"verify", "--keystore", ks_, dumps_ + "/notes", dumps_ + "/good.dce"});
  EXPECT_EQ(r.exit_code, 1);
  r = Run({"verify", "--keystore", ks_, dumps_ + "/good.dce"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, Not(HasSubstr("files:")));
}

}  // namespace
}  // namespace dumpcrypt::testing
