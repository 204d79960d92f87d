#include "crypto/secret_bytes.h"

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyOf(testing::RandomBytes(32, 1));
  const uint8_t* data = a.data();
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.size(), 32u);
}

TEST(SecretBytesTest, CloneEqualsAndRandomDiffers) {
  ASSERT_OK_AND_ASSIGN(SecretBytes a, SecretBytes::Random(64));
  ASSERT_OK_AND_ASSIGN(SecretBytes b, SecretBytes::Random(64));
  EXPECT_TRUE(a.Clone().Equals(a));
  EXPECT_FALSE(a.Equals(b));
  EXPECT_FALSE(a.Equals(SecretBytes(63)));
}

TEST(SecretBytesTest, TruncateCleansesTheCutBytes) {
  SecretBytes a = SecretBytes::CopyOf(std::vector<uint8_t>(16, 0xaa));
  a.Truncate(4);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.data()[3], 0xaa);
  EXPECT_EQ(a.data()[4], 0);  // the mapping is still ours; it was cleansed
  EXPECT_EQ(a.data()[15], 0);
}

TEST(SecretBytesTest, NewBuffersAreZeroAndPageBacked) {
  SecretBytes a(100);
  ASSERT_EQ(a.size(), 100u);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data()[i], 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 4096, 0u);
  EXPECT_TRUE(SecretBytes(0).empty());
}

}  // namespace
}  // namespace dumpcrypt
