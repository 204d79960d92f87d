// The dumpcryptfs command line, run for real: help, version, usage errors.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

TEST(DumpcryptfsCommandTest, HelpVersionAndUsageErrors) {
  ToolResult r = RunTool({ToolPath("dumpcryptfs"), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* opt : {"keystore=", "allow_other", "direct_io",
                          "audit_log=", "idle=", "suffix="}) {
    EXPECT_THAT(r.out, HasSubstr(opt));
  }
  r = RunTool({ToolPath("dumpcryptfs"), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("dumpcryptfs "));
  EXPECT_EQ(RunTool({ToolPath("dumpcryptfs"), "/tmp"}).exit_code, 2);
  r = RunTool({ToolPath("dumpcryptfs"), "/tmp", "/mnt"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("keystore"));
  // fuse_opt's %u would take -5 for 4294967291.
  for (const char* bad : {"read_ahead_kb=-5", "read_ahead_kb=65537", "idle=x",
                          "negative_ttl=-1", "idle=99999999999"}) {
    r = RunTool({ToolPath("dumpcryptfs"), "-o",
                 absl::StrCat("keystore=/nonexistent,", bad), "/tmp", "/mnt"});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr(bad));
  }
}

}  // namespace
}  // namespace dumpcrypt::testing
