#include "fs/audit_log.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::HasSubstr;

TEST(AuditLogTest, OneJsonObjectPerLine) {
  testing::TempDir dir;
  auto log = AuditLog::Open(dir.File("audit.jsonl"));
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Write("open", {{"path", "a\xff"}, {"uid", 7}});
  (*log)->Write("unmount", {});
  const std::vector<uint8_t> bytes =
      testing::ReadFileOrFail(dir.File("audit.jsonl"));
  std::istringstream lines(std::string(bytes.begin(), bytes.end()));
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  const auto first = nlohmann::json::parse(line);
  EXPECT_EQ(first["event"], "open");
  EXPECT_EQ(first["path"], "a\xef\xbf\xbd");
  EXPECT_EQ(first["uid"], 7);
  EXPECT_THAT(first["time"].get<std::string>(), ::testing::EndsWith("Z"));
  ASSERT_TRUE(std::getline(lines, line));
  EXPECT_EQ(nlohmann::json::parse(line)["event"], "unmount");
  EXPECT_FALSE(std::getline(lines, line));
}

TEST(AuditLogTest, LostEventsAreLoggedOnceNotFailed) {
  auto log = AuditLog::Open("/dev/full");
  ASSERT_TRUE(log.ok()) << log.status();
  ::testing::internal::CaptureStderr();
  (*log)->Write("open", {});
  (*log)->Write("open", {});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("audit log /dev/full: events are being lost: "
                             "No space left on device"));
  EXPECT_EQ(err.find("audit log"), err.rfind("audit log"));  // once
}

}  // namespace
}  // namespace dumpcrypt
