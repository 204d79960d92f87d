#include "crypto/secret_bytes.h"

#include <openssl/crypto.h>

#include <vector>

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

TEST(SecretBytesTest, NewBuffersAreZeroAlignedAndSmallOnesInTheArena) {
  SecretBytes a(100);
  ASSERT_EQ(a.size(), 100u);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data()[i], 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
  EXPECT_TRUE(CRYPTO_secure_allocated(a.data()));
  EXPECT_TRUE(SecretBytes(0).empty());
}

// Beyond the arena's 1 MiB, buffers get pages of their own; freed ones go
// back to the arena.
TEST(SecretBytesTest, LargeBuffersAndAFullArenaStillWork) {
  SecretBytes large(3 << 20);
  EXPECT_FALSE(CRYPTO_secure_allocated(large.data()));
  EXPECT_EQ(large.data()[(3 << 20) - 1], 0);
  std::vector<SecretBytes> many;
  for (int i = 0; i < 1100; ++i) {
    many.emplace_back(1000);
    ASSERT_EQ(many.back().data()[999], 0);
    many.back().data()[999] = 1;
    ASSERT_EQ(reinterpret_cast<uintptr_t>(many.back().data()) % 64, 0u);
  }
  EXPECT_FALSE(CRYPTO_secure_allocated(many.back().data()));
  many.clear();
  EXPECT_TRUE(CRYPTO_secure_allocated(SecretBytes(1000).data()));
}

}  // namespace
}  // namespace dumpcrypt
