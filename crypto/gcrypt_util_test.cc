#include "crypto/gcrypt_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

TEST(GcryptUtilTest, RejectsAKeyLibgcryptRejectsWithItsReason) {
  auto pool = MakeGcryCipherPool(GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_XTS,
                                 SecretBytes(10));
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pool.status().message(),
              ::testing::HasSubstr("set key: Invalid key length"));
}

TEST(GcryptUtilTest, LendsKeyedHandles) {
  ASSERT_OK_AND_ASSIGN(
      auto pool, MakeGcryCipherPool(GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB,
                                    SecretBytes(16)));
  ASSERT_OK_AND_ASSIGN(auto lease, pool->Acquire());
  // AES-128 of the zero block under the zero key.
  uint8_t block[16] = {};
  ASSERT_EQ(gcry_cipher_encrypt(lease.get(), block, 16, nullptr, 0), 0u);
  EXPECT_EQ(testing::ToHex(block), "66e94bd4ef8a2c3b884cfa59ca342b2e");
}

}  // namespace
}  // namespace dumpcrypt
