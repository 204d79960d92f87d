#include "base/bytes.h"

#include <array>

#include "base/time_format.h"
#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

TEST(BytesTest, LoadsAndStoresBothByteOrders) {
  uint8_t b[8];
  StoreLe(0x0102030405060708, b, 8);
  EXPECT_EQ(b[0], 0x08);
  EXPECT_EQ(LoadLe(b, 8), 0x0102030405060708u);
  EXPECT_EQ(LoadLe(b, 2), 0x0708u);
  StoreBe(0x0a0b0c0d, b, 4);
  EXPECT_EQ(b[0], 0x0a);
  EXPECT_EQ(b[3], 0x0d);
  EXPECT_EQ(LoadBe(b, 4), 0x0a0b0c0du);
}

TEST(BytesTest, HexRoundTripsAndRejectsBadInput) {
  std::array<uint8_t, 3> out{};
  ASSERT_TRUE(HexDecode("00aFff", absl::MakeSpan(out)));
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 0xaf);
  EXPECT_EQ(out[2], 0xff);
  EXPECT_EQ(HexEncode(out), "00afff");
  EXPECT_FALSE(HexDecode("00aff", absl::MakeSpan(out)));   // odd length
  EXPECT_FALSE(HexDecode("00afgf", absl::MakeSpan(out)));  // not a digit
  EXPECT_FALSE(HexDecode("00afff00", absl::MakeSpan(out)));
}

TEST(TimeFormatTest, Rfc3339InUtc) {
  EXPECT_EQ(Rfc3339Unix(0), "");
  EXPECT_EQ(Rfc3339Unix(1764351600), "2025-11-28T17:40:00Z");
  EXPECT_EQ(Rfc3339(absl::FromUnixMicros(1764351600000001), true),
            "2025-11-28T17:40:00.000001Z");
}

}  // namespace
}  // namespace dumpcrypt
