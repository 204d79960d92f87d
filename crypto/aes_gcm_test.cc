#include "crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

// The back end every test of this file runs on, set by the fixture: each
// test runs once per back end in the build.
CryptoBackend g_backend = CryptoBackend::kDefault;

class AesGcmDecryptorTest : public ::testing::TestWithParam<CryptoBackend> {
 protected:
  void SetUp() override { g_backend = GetParam(); }
};

using testing::FromHex;
using testing::RandomBytes;
using testing::SecretFromHex;
using testing::ToHex;

std::unique_ptr<AesGcmDecryptor> Make(const SecretBytes& key,
                                      const std::vector<uint8_t>& iv,
                                      const std::vector<uint8_t>& aad) {
  auto gcm = AesGcmDecryptor::Create(key, iv, aad, g_backend);
  EXPECT_TRUE(gcm.ok()) << gcm.status();
  return gcm.ok() ? std::move(gcm).value() : nullptr;
}

// OpenSslSeal encrypts with OpenSSL: the ciphertext, then the 16-byte tag.
std::vector<uint8_t> OpenSslSeal(const SecretBytes& key,
                                 const std::vector<uint8_t>& iv,
                                 const std::vector<uint8_t>& aad,
                                 const std::vector<uint8_t>& plain) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> out(plain.size() + 16);
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key.data(), iv.data(),
                                nullptr),
            1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(),
                              static_cast<int>(aad.size())),
            1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &len, plain.data(),
                              static_cast<int>(plain.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + len, &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
                                out.data() + plain.size()),
            1);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// The GCM specification (McGrew and Viega), test case 16: AES-256, 96-bit
// IV, AAD, a plaintext that ends inside a block.
TEST_P(AesGcmDecryptorTest, GcmSpecTestCase16) {
  const SecretBytes key = SecretFromHex(
      "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::vector<uint8_t> iv = FromHex("cafebabefacedbaddecaf888");
  const std::vector<uint8_t> aad =
      FromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::vector<uint8_t> cipher = FromHex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e"
      "48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
  const std::vector<uint8_t> tag = FromHex("76fc6ece0f4e1768cddf8853bb2d551b");
  auto gcm = Make(key, iv, aad);
  ASSERT_NE(gcm, nullptr);
  std::vector<uint8_t> plain(cipher.size());
  ASSERT_OK(gcm->Update(cipher, absl::MakeSpan(plain)));
  EXPECT_EQ(ToHex(plain),
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  EXPECT_TRUE(gcm->Finish(tag));
}

// Any split of the message, in place or not, decrypts what OpenSSL
// encrypted; the AAD is as long as a .ve header and its context.
TEST_P(AesGcmDecryptorTest, AgreesWithOpenSslForAnySplit) {
  const SecretBytes key = SecretBytes::CopyOf(RandomBytes(32, 1));
  const std::vector<uint8_t> iv = RandomBytes(12, 2);
  const std::vector<uint8_t> aad = RandomBytes(4096 + 16, 3);
  const std::vector<uint8_t> plain = RandomBytes(3 * 4096 + 5, 4);
  const std::vector<uint8_t> sealed = OpenSslSeal(key, iv, aad, plain);
  const absl::Span<const uint8_t> tag =
      absl::MakeConstSpan(sealed).subspan(plain.size());
  for (size_t piece : {1ul, 15ul, 16ul, 17ul, 4099ul, plain.size()}) {
    for (bool in_place : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "piece " << piece << (in_place ? " in place" : ""));
      auto gcm = Make(key, iv, aad);
      ASSERT_NE(gcm, nullptr);
      std::vector<uint8_t> buf(sealed.begin(), sealed.end() - 16);
      std::vector<uint8_t> out(buf.size());
      for (size_t at = 0; at < buf.size(); at += piece) {
        const size_t n = std::min(piece, buf.size() - at);
        uint8_t* dest = in_place ? buf.data() + at : out.data() + at;
        ASSERT_OK(gcm->Update({buf.data() + at, n}, {dest, n}));
      }
      EXPECT_TRUE((in_place ? buf : out) == plain);
      EXPECT_TRUE(gcm->Finish(tag));
    }
  }
}

TEST_P(AesGcmDecryptorTest, ChangedInputOrTagFails) {
  const SecretBytes key = SecretBytes::CopyOf(RandomBytes(32, 5));
  const std::vector<uint8_t> iv = RandomBytes(12, 6);
  const std::vector<uint8_t> aad = RandomBytes(100, 7);
  const std::vector<uint8_t> plain = RandomBytes(1000, 8);
  const std::vector<uint8_t> sealed = OpenSslSeal(key, iv, aad, plain);
  auto check = [&](const std::vector<uint8_t>& aad_used,
                   std::vector<uint8_t> cipher,
                   std::vector<uint8_t> tag) -> bool {
    auto gcm = Make(key, iv, aad_used);
    if (gcm == nullptr) return false;
    std::vector<uint8_t> out(cipher.size());
    EXPECT_OK(gcm->Update(cipher, absl::MakeSpan(out)));
    return gcm->Finish(tag);
  };
  const std::vector<uint8_t> cipher(sealed.begin(), sealed.end() - 16);
  const std::vector<uint8_t> tag(sealed.end() - 16, sealed.end());
  EXPECT_TRUE(check(aad, cipher, tag));
  // A tag truncated to 12 bytes is the first 12 bytes of the tag.
  EXPECT_TRUE(check(aad, cipher, {tag.begin(), tag.begin() + 12}));
  EXPECT_FALSE(check(aad, cipher, {tag.begin(), tag.begin() + 11}));
  EXPECT_FALSE(check(aad, cipher, {tag.end() - 12, tag.end()}));
  std::vector<uint8_t> changed = cipher;
  changed[999] ^= 0x80;
  EXPECT_FALSE(check(aad, changed, tag));
  changed = aad;
  changed[0] ^= 0x01;
  EXPECT_FALSE(check(changed, cipher, tag));
  changed = tag;
  changed[15] ^= 0x01;
  EXPECT_FALSE(check(aad, cipher, changed));
}

TEST_P(AesGcmDecryptorTest, RejectsBadSizesAndUseAfterFinish) {
  const SecretBytes key = SecretBytes::CopyOf(RandomBytes(32, 9));
  const std::vector<uint8_t> iv(12, 1);
  EXPECT_FALSE(AesGcmDecryptor::Create(SecretBytes::CopyOf(RandomBytes(16, 9)),
                                       iv, {}, g_backend)
                   .ok());
  EXPECT_FALSE(
      AesGcmDecryptor::Create(key, RandomBytes(16, 1), {}, g_backend).ok());
  auto gcm = Make(key, iv, {});
  ASSERT_NE(gcm, nullptr);
  uint8_t in[32] = {};
  uint8_t out[32];
  EXPECT_EQ(gcm->Update({in, 32}, {out, 31}).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK(gcm->Update({in, 32}, {out, 32}));
  uint8_t tag[16] = {};
  EXPECT_FALSE(gcm->Finish(tag));
  EXPECT_EQ(gcm->Update({in, 32}, {out, 32}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(gcm->Finish(tag));
}

INSTANTIATE_TEST_SUITE_P(Backends, AesGcmDecryptorTest,
                         ::testing::ValuesIn(UsableBackends()),
                         testing::BackendTestName);

}  // namespace
}  // namespace dumpcrypt
