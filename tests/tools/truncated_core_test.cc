// A core cut short on its way to `seal` (a broken pipe): sealed all the same,
// marked truncated in the header, and reported with exit 4.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TruncatedCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ToolResult r = RunTool(
        {std::string(DUMPCRYPT_SOURCE_DIR) + "/scripts/make-sample-core",
         dir_.File("work")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<uint8_t> bytes =
        ReadFileOrFail(dir_.File("work/core.crashme"));
    core_.assign(bytes.begin(), bytes.end());
    r = Run({"keystore", "new", "--keystore", ks_, "--key-id", "k"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ToolResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args, input);
  }
  ToolResult SealStdin(const std::string& input, const std::string& out) {
    return Run({"seal", "--keystore", ks_, "--key-id", "k", "-", out}, input);
  }
  nlohmann::json Describe(const std::string& path) {
    const ToolResult r = Run({"describe", "--json", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)[0];
  }

  TempDir dir_;
  const std::string ks_ = dir_.File("ks");
  std::string core_;
};

TEST_F(TruncatedCoreTest, ACutCoreIsSealedMarkedAndExitFour) {
  const std::string out = dir_.File("cut.dce");
  ToolResult r = SealStdin(core_.substr(0, core_.size() - 4096), out);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("standard input: the ELF core is truncated"));
  EXPECT_THAT(r.err, HasSubstr("marked truncated"));
  EXPECT_EQ(Describe(out)["dump"]["truncated"], true);
  r = Run({"describe", out});
  EXPECT_THAT(r.out, HasSubstr("TRUNCATED"));
  // What was there is kept, byte for byte.
  r = Run({"extract", "--keystore", ks_, out, "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == core_.substr(0, core_.size() - 4096));
}

TEST_F(TruncatedCoreTest, WholeCoresAndOtherInputsAreNotMarked) {
  ToolResult r = SealStdin(core_, dir_.File("whole.dce"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Describe(dir_.File("whole.dce"))["dump"]["truncated"], false);
  r = Run({"describe", dir_.File("whole.dce")});
  EXPECT_THAT(r.out, Not(HasSubstr("TRUNCATED")));
  // Not an ELF core: nothing says how long it should be.
  r = SealStdin(std::string(10000, 'x'), dir_.File("text.dce"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace dumpcrypt::testing
