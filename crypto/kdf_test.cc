#include "crypto/kdf.h"

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::FromHex;
using testing::ToHex;

// RFC 5869 appendix A, test cases 1 and 3 (SHA-256).
TEST(HkdfTest, Rfc5869Vectors) {
  const std::vector<uint8_t> ikm(22, 0x0b);
  ASSERT_OK_AND_ASSIGN(SecretBytes okm,
                       HkdfSha256(ikm, FromHex("000102030405060708090a0b0c"),
                                  FromHex("f0f1f2f3f4f5f6f7f8f9"), 42));
  EXPECT_EQ(ToHex(okm.span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
  ASSERT_OK_AND_ASSIGN(okm, HkdfSha256(ikm, {}, {}, 42));
  EXPECT_EQ(ToHex(okm.span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfTest, RejectsImpossibleLengths) {
  EXPECT_FALSE(HkdfSha256({}, {}, {}, 0).ok());
  EXPECT_FALSE(HkdfSha256({}, {}, {}, 255 * 32 + 1).ok());
}

// RFC 4231 test cases 1 and 2; the message is split to test the parts.
TEST(HmacTest, Rfc4231Vectors) {
  SecretBytes key = SecretBytes::CopyOf(std::vector<uint8_t>(20, 0x0b));
  ASSERT_OK_AND_ASSIGN(Sha256Digest mac,
                       HmacSha256(key, {AsBytes("Hi "), AsBytes("There")}));
  EXPECT_EQ(ToHex(mac),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  ASSERT_OK_AND_ASSIGN(
      mac, HmacSha256(SecretBytes::CopyOf(AsBytes("Jefe")),
                      {AsBytes("what do ya want for nothing?"), {}}));
  EXPECT_EQ(ToHex(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// FIPS 180-4 examples ("abc", and the empty string), whole and in pieces.
TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(ToHex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Stream stream;
  stream.Update(AsBytes("a"));
  stream.Update(AsBytes(""));
  stream.Update(AsBytes("bc"));
  EXPECT_EQ(ToHex(stream.Finish()), ToHex(Sha256(AsBytes("abc"))));
}

}  // namespace
}  // namespace dumpcrypt
