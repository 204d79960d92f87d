// dumpcrypt's key sources and inputs that are not what they should be, run
// for real: a malformed key store is a key problem (exit 3), not damage; a
// FIFO where a file belongs is refused at once, not waited on.
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

class KeySourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        Run({"keystore", "new", "--keystore", ks_, "--key-id", "k"}).exit_code,
        0);
    WriteFileOrDie(dir_.File("core"), RandomBytes(10000, 1));
    ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "k",
                   dir_.File("core"), sealed_})
                  .exit_code,
              0);
  }
  ToolResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args);
  }

  TempDir dir_;
  const std::string ks_ = dir_.File("ks");
  const std::string sealed_ = dir_.File("core.dce");
};

TEST_F(KeySourcesTest, AMalformedKeyStoreIsAKeyProblem) {
  const std::string bad = dir_.File("bad-ks");
  WriteFileOrDie(bad, std::vector<uint8_t>{'n', 'o', 't', ' ', 'a', '\n'});
  ASSERT_EQ(chmod(bad.c_str(), 0600), 0);
  for (const char* command : {"extract", "verify"}) {
    std::vector<std::string> args = {command, "--keystore", bad, sealed_};
    if (std::string(command) == "extract") args.push_back(dir_.File("out"));
    ToolResult r = Run(args);
    EXPECT_EQ(r.exit_code, 3) << command << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("key store " + bad + " line 1"));
  }
  EXPECT_EQ(access(dir_.File("out").c_str(), F_OK), -1);
}

TEST_F(KeySourcesTest, AFifoIsRefusedNotWaitedOn) {
  const std::string fifo = dir_.File("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ToolResult r = Run({"describe", fifo});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(fifo + ": is not a regular file"));
  r = Run({"verify", "--keystore", ks_, fifo});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is not a regular file"));
  r = Run({"extract", "--keystore", ks_, fifo, dir_.File("out")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is not a regular file"));
  // A FIFO as the key store: a key problem, said at once.
  r = Run({"verify", "--keystore", fifo, sealed_});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("key store " + fifo + " is not a regular file"));
  for (const char* flag : {"--kms", "--vmware-keystore"}) {
    r = Run({"verify", flag, fifo, sealed_});
    EXPECT_EQ(r.exit_code, 3) << flag;
    EXPECT_THAT(r.err, HasSubstr(fifo + ": is not a regular file")) << flag;
  }
  r = Run({"seal", "--recipient", fifo, sealed_, dir_.File("to")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr(fifo + ": is not a regular file"));
}

}  // namespace
}  // namespace dumpcrypt::testing
