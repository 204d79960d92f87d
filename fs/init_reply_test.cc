#include "fs/init_reply.h"

#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

struct Message {
  uint32_t header[4] = {80, 0, 2, 0};                 // len, error, unique
  uint32_t init[16] = {7, 31, 0x200000, 0x40409029};  // major, minor, ..
  iovec iov[2] = {{header, sizeof(header)}, {init, sizeof(init)}};
};

TEST(InitReplyTest, SetsTheFlagInAnInitReply) {
  Message m;
  m.init[3] = 0x00409029;  // without FUSE_INIT_EXT
  m.init[8] = 0x1;         // flags2 with another bit set
  EXPECT_TRUE(AllowSharedMappings(m.iov, 2));
  EXPECT_EQ(m.init[3], 0x40409029u);
  EXPECT_EQ(m.init[8], 0x11u);
  EXPECT_EQ(m.init[1], 31u);
  for (int i = 9; i < 16; ++i) EXPECT_EQ(m.init[i], 0u) << i;
}

TEST(InitReplyTest, LeavesOtherMessagesAlone) {
  Message error;
  error.header[1] = static_cast<uint32_t>(-5);
  Message other_major;
  other_major.init[0] = 8;
  Message short_reply;
  short_reply.iov[1].iov_len = 24;  // a protocol 7.22 reply has no flags2
  Message header_only;
  for (auto [m, count] : {std::pair{&error, 2},
                          {&other_major, 2},
                          {&short_reply, 2},
                          {&header_only, 1}}) {
    uint32_t before[16];
    std::memcpy(before, m->init, sizeof(before));
    EXPECT_FALSE(AllowSharedMappings(m->iov, count));
    EXPECT_EQ(std::memcmp(before, m->init, sizeof(before)), 0);
  }
}

}  // namespace
}  // namespace dumpcrypt
