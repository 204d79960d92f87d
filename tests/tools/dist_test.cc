// What dist/ installs on a host: the systemd units pass systemd-analyze
// verify (with this build's dumpcrypt in place of /usr/bin's), and the
// sysctl drop-in's core_pattern fits the kernel's limit, and the bash
// completion offers what the tools' --help lists. The core-handler
// tests run under that drop-in (core_handler_fixture.h).
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

const std::string kDist = std::string(DUMPCRYPT_SOURCE_DIR) + "/dist/";

TEST(DistTest, SystemdVerifiesTheUnits) {
  if (RunTool({"sh", "-c", "command -v systemd-analyze"}).exit_code != 0) {
    GTEST_SKIP() << "no systemd-analyze (Debian's systemd package)";
  }
  TempDir dir;
  std::vector<std::string> args = {"systemd-analyze", "verify"};
  for (const char* unit : {"dumpcrypt-keycache.service", "mnt-dumps.mount"}) {
    WriteText(
        dir.File(unit),
        absl::StrReplaceAll(ReadText(kDist + unit),
                            {{"/usr/bin/dumpcrypt", ToolPath("dumpcrypt")}}));
    args.push_back(dir.File(unit));
  }
  const ToolResult r = RunTool(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // it warns of a setting it cannot parse, exit 0
}

TEST(DistTest, TheCorePatternFitsTheKernelsLimit) {
  std::string pattern;
  for (absl::string_view line :
       absl::StrSplit(ReadText(kDist + "50-dumpcrypt.conf"), '\n')) {
    if (absl::ConsumePrefix(&line, "kernel.core_pattern=")) {
      pattern = std::string(line);
    }
  }
  EXPECT_THAT(pattern,
              ::testing::StartsWith("|/usr/bin/dumpcrypt core-handler "));
  EXPECT_LT(pattern.size(), 128u);  // CORENAME_MAX_SIZE, with its NUL
}

// Complete runs the bash completion of dist/ on `words` (the last is the
// word being completed) in `dir` and returns its candidates, one per line.
std::string Complete(const std::string& dir, const std::string& function,
                     const std::vector<std::string>& words) {
  std::vector<std::string> argv = {
      "bash",
      "-c",
      "cd \"$1\" && source \"$2\" && shift 3 && COMP_WORDS=(\"$@\") && "
      "COMP_CWORD=$(($# - 1)) && " +
          function + " && printf '%s\\n' \"${COMPREPLY[@]}\"",
      "bash",
      dir,
      kDist + "dumpcrypt.bash-completion",
      "-"};
  argv.insert(argv.end(), words.begin(), words.end());
  const ToolResult r = RunTool(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(DistTest, BashCompletesSubcommandsOptionsAndMountOptions) {
  TempDir dir;
  WriteText(dir.File("core.dce"), "");
  const std::string dc = ToolPath("dumpcrypt");
  EXPECT_EQ(Complete(dir.path(), "_dumpcrypt", {dc, "se"}), "seal\n");
  const std::string all = Complete(dir.path(), "_dumpcrypt", {dc, ""});
  for (const char* sub :
       {"keystore\n", "core-handler\n", "speed\n", "debug\n"}) {
    EXPECT_THAT(all, HasSubstr(sub));
  }
  EXPECT_EQ(
      Complete(dir.path(), "_dumpcrypt", {dc, "keystore", "new", "--key"}),
      "--keystore\n--key-id\n");
  EXPECT_EQ(
      Complete(dir.path(), "_dumpcrypt", {dc, "seal", "--keystore", "co"}),
      "core.dce\n");
  EXPECT_EQ(Complete(dir.path(), "_dumpcryptfs",
                     {ToolPath("dumpcryptfs"), "-o", "allow_other,keys"}),
            "allow_other,keystore=\n");
  EXPECT_THAT(
      Complete(dir.path(), "_dumpcryptfs", {ToolPath("dumpcryptfs"), "-o", ""}),
      HasSubstr("direct_io\n"));
}

}  // namespace
}  // namespace dumpcrypt::testing
