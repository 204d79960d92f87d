#include "fs/read_ahead.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

constexpr char kMountinfo[] =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 22 0:39 / /var/tmp/a rw,nosuid - fuse.dumpcryptfs /src rw\n"
    "41 22 0:40 / /var/tmp/with\\040space rw - fuse.dumpcryptfs /s rw\n"
    "42 40 0:41 / /var/tmp/a/inner rw - fuse.dumpcryptfs /s rw\n"
    "43 22 0:42 / /var/tmp/a rw,nosuid - fuse.dumpcryptfs /src rw\n"
    "44 22 0:43 / /var/tmp/b\\134s\\011t\\012n rw - fuse.dumpcryptfs /s rw\n";

TEST(MountDeviceTest, FindsTheLastMountAtThePath) {
  EXPECT_EQ(*MountDevice(kMountinfo, "/var/tmp/a"), "0:42");
  EXPECT_EQ(*MountDevice(kMountinfo, "/var/tmp/a/inner"), "0:41");
  EXPECT_EQ(*MountDevice(kMountinfo, "/"), "254:0");
}

TEST(MountDeviceTest, MatchesEscapedPaths) {
  EXPECT_EQ(*MountDevice(kMountinfo, "/var/tmp/with space"), "0:40");
  EXPECT_EQ(*MountDevice(kMountinfo, "/var/tmp/b\\s\tt\nn"), "0:43");
}

TEST(MountDeviceTest, NoMountIsNotFound) {
  auto device = MountDevice(kMountinfo, "/var/tmp");
  ASSERT_FALSE(device.ok());
  EXPECT_TRUE(absl::IsNotFound(device.status()));
  EXPECT_THAT(device.status().message(), ::testing::HasSubstr("/var/tmp"));
  EXPECT_FALSE(MountDevice(kMountinfo, "/var/tmp/with\\040space").ok());
}

}  // namespace
}  // namespace dumpcrypt
