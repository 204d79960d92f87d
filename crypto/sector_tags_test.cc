#include "crypto/sector_tags.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::FromHex;
using testing::RandomBytes;
using testing::SecretFromHex;
using testing::ToHex;

std::unique_ptr<SectorTagger> Make(const SecretBytes& key) {
  auto tagger = SectorTagger::Create(key.Clone());
  EXPECT_TRUE(tagger.ok()) << tagger.status();
  return tagger.ok() ? std::move(tagger).value() : nullptr;
}

// The GCM specification (McGrew and Viega), test cases 1 and 13: zero key,
// zero 96-bit IV, empty plaintext and AAD.
TEST(SectorTaggerTest, GcmSpecEmptyPlaintextVectors) {
  const std::vector<uint8_t> nonce(12, 0);
  uint8_t tag[16];
  ASSERT_OK(Make(SecretFromHex(std::string(32, '0')))->Gmac(nonce, {}, tag));
  EXPECT_EQ(ToHex(tag), "58e2fccefa7e3061367f1d57a4e7455a");
  ASSERT_OK(Make(SecretFromHex(std::string(64, '0')))->Gmac(nonce, {}, tag));
  EXPECT_EQ(ToHex(tag), "530f8afbc74536b9a963b4f1c4cb738b");
}

// OpenSSL's EVP_MAC "GMAC" is a separate code path: the tags must agree.
TEST(SectorTaggerTest, AgreesWithOpenSslGmacOverAad) {
  const std::vector<uint8_t> key = RandomBytes(32, 11);
  const std::vector<uint8_t> aad = RandomBytes(4096, 12);
  const std::vector<uint8_t> nonce = FromHex("2a0000000000000000000000");
  uint8_t ours[16];
  ASSERT_OK(Make(SecretBytes::CopyOf(key))->Gmac(nonce, aad, ours));

  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "GMAC", nullptr);
  ASSERT_NE(mac, nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char cipher[] = "AES-256-GCM";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV,
                                        const_cast<uint8_t*>(nonce.data()), 12),
      OSSL_PARAM_construct_end()};
  uint8_t theirs[16];
  size_t len = 0;
  ASSERT_EQ(EVP_MAC_init(ctx, key.data(), key.size(), params), 1);
  ASSERT_EQ(EVP_MAC_update(ctx, aad.data(), aad.size()), 1);
  ASSERT_EQ(EVP_MAC_final(ctx, theirs, &len, sizeof(theirs)), 1);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  EXPECT_EQ(ToHex(ours), ToHex(theirs));
}

TEST(SectorTaggerTest, FindsTheFirstBadSector) {
  auto tagger = Make(SecretBytes::CopyOf(RandomBytes(32, 1)));
  std::vector<uint8_t> data = RandomBytes(8 * 512, 2);
  std::vector<uint8_t> tags(8 * 16);
  ASSERT_OK(tagger->Compute(40, 512, data, absl::MakeSpan(tags)));
  ASSERT_OK_AND_ASSIGN(auto bad, tagger->FindBadSector(40, 512, data, tags));
  EXPECT_FALSE(bad.has_value());
  // The nonce binds the sector number: the same data as other sectors fails.
  ASSERT_OK_AND_ASSIGN(bad, tagger->FindBadSector(41, 512, data, tags));
  EXPECT_EQ(bad, std::optional<size_t>(0));
  data[5 * 512 + 17] ^= 0x04;
  data[7 * 512] ^= 0x01;
  ASSERT_OK_AND_ASSIGN(bad, tagger->FindBadSector(40, 512, data, tags));
  EXPECT_EQ(bad, std::optional<size_t>(5));
}

TEST(SectorTaggerTest, RejectsMismatchedBuffersAndKeys) {
  EXPECT_FALSE(SectorTagger::Create(SecretBytes(20)).ok());
  auto tagger = Make(SecretBytes::CopyOf(RandomBytes(32, 1)));
  std::vector<uint8_t> data(1024), tags(16);
  EXPECT_EQ(tagger->Compute(0, 512, data, absl::MakeSpan(tags)).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dumpcrypt
