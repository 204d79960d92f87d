#include "crypto/xts_cipher.h"

#include <openssl/evp.h>

#include <thread>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

// The back end every test of this file runs on, set by the fixture: each
// test runs once per back end in the build.
CryptoBackend g_backend = CryptoBackend::kDefault;

class XtsSectorCipherTest : public ::testing::TestWithParam<CryptoBackend> {
 protected:
  void SetUp() override { g_backend = GetParam(); }
};

using testing::FromHex;
using testing::RandomBytes;
using testing::SecretFromHex;
using testing::ToHex;
using Dir = XtsSectorCipher::Direction;

// IEEE 1619-2007 Annex B, XTS-AES-256 vectors 10 and 11: 512-byte data
// units, plaintext 00..ff twice, data unit sequence numbers 0xff and 0xffff.
constexpr char kKey[] =
    "2718281828459045235360287471352662497757247093699959574966967627"
    "3141592653589793238462643383279502884197169399375105820974944592";
constexpr char kVector10[] =
    "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
    "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
    "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
    "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
    "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
    "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
    "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
    "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
    "84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
    "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
    "9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
    "a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
    "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
    "645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
    "1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
    "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";
constexpr char kVector11[] =
    "77a31251618a15e6b92d1d66dffe7b50b50bad552305ba0217a610688eff7e11"
    "e1d0225438e093242d6db274fde801d4cae06f2092c728b2478559df58e837c2"
    "469ee4a4fa794e4bbc7f39bc026e3cb72c33b0888f25b4acf56a2a9804f1ce6d"
    "3d6e1dc6ca181d4b546179d55544aa7760c40d06741539c7e3cd9d2f6650b201"
    "3fd0eeb8c2b8e3d8d240ccae2d4c98320a7442e1c8d75a42d6e6cfa4c2eca179"
    "8d158c7aecdf82490f24bb9b38e108bcda12c3faf9a21141c3613b58367f922a"
    "aa26cd22f23d708dae699ad7cb40a8ad0b6e2784973dcb605684c08b8d6998c6"
    "9aac049921871ebb65301a4619ca80ecb485a31d744223ce8ddc2394828d6a80"
    "470c092f5ba413c3378fa6054255c6f9df4495862bbb3287681f931b687c888a"
    "bf844dfc8fc28331e579928cd12bd2390ae123cf03818d14dedde5c0c24c8ab0"
    "18bfca75ca096f2d531f3d1619e785f1ada437cab92e980558b3dce1474afb75"
    "bfedbf8ff54cb2618e0244c9ac0d3c66fb51598cd2db11f9be39791abe447c63"
    "094f7c453b7ff87cb5bb36b7c79efb0872d17058b83b15ab0866ad8a58656c5a"
    "7e20dbdf308b2461d97c0ec0024a2715055249cf3b478ddd4740de654f75ca68"
    "6e0d7345c69ed50cdc2a8b332b1f8824108ac937eb050585608ee734097fc090"
    "54fbff89eeaeea791f4a7ab1f9868294a4f9e27b42af8100cb9d59cef9645803";

std::vector<uint8_t> CountingPlaintext() {
  std::vector<uint8_t> p(512);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

std::unique_ptr<XtsSectorCipher> Make(const SecretBytes& key, Dir dir) {
  auto cipher = XtsSectorCipher::Create(key.Clone(), dir, g_backend);
  EXPECT_TRUE(cipher.ok()) << cipher.status();
  return cipher.ok() ? std::move(cipher).value() : nullptr;
}

class XtsVectorTest
    : public ::testing::TestWithParam<std::pair<uint64_t, const char*>> {};

TEST_P(XtsVectorTest, EncryptsAndDecryptsIeee1619Vector) {
  const auto [sector, ciphertext] = GetParam();
  SecretBytes key = SecretFromHex(kKey);
  for (CryptoBackend backend : UsableBackends()) {
    SCOPED_TRACE(BackendName(backend));
    g_backend = backend;
    std::vector<uint8_t> data = CountingPlaintext();
    ASSERT_OK(
        Make(key, Dir::kEncrypt)->Transform(sector, 512, absl::MakeSpan(data)));
    EXPECT_EQ(ToHex(data), ciphertext);
    ASSERT_OK(
        Make(key, Dir::kDecrypt)->Transform(sector, 512, absl::MakeSpan(data)));
    EXPECT_EQ(data, CountingPlaintext());
  }
}

INSTANTIATE_TEST_SUITE_P(Ieee1619, XtsVectorTest,
                         ::testing::Values(std::make_pair(0xffu, kVector10),
                                           std::make_pair(0xffffu, kVector11)));

TEST_P(XtsSectorCipherTest, TweakIsLittleEndianSectorNumber) {
  uint8_t tweak[16];
  XtsTweak(0x0102030405060708ull, tweak);
  EXPECT_EQ(ToHex(tweak), "08070605040302010000000000000000");
}

TEST_P(XtsSectorCipherTest, RejectsEqualHalvesAndWrongSizes) {
  std::vector<uint8_t> half = RandomBytes(32, 1);
  std::vector<uint8_t> both = half;
  both.insert(both.end(), half.begin(), half.end());
  for (Dir dir : {Dir::kEncrypt, Dir::kDecrypt}) {
    EXPECT_EQ(XtsSectorCipher::Create(SecretBytes::CopyOf(both), dir, g_backend)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(XtsSectorCipher::Create(SecretBytes::CopyOf(half), dir, g_backend)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_P(XtsSectorCipherTest, RejectsPartialSectors) {
  auto cipher = Make(SecretFromHex(kKey), Dir::kEncrypt);
  std::vector<uint8_t> data(4095);
  EXPECT_EQ(cipher->Transform(0, 4096, absl::MakeSpan(data)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(XtsSectorCipherTest, BatchEqualsSectorBySector) {
  SecretBytes key = SecretFromHex(kKey);
  auto enc = Make(key, Dir::kEncrypt);
  std::vector<uint8_t> batch = RandomBytes(8 * 4096, 7);
  std::vector<uint8_t> single = batch;
  ASSERT_OK(enc->Transform(1000, 4096, absl::MakeSpan(batch)));
  for (size_t i = 0; i < 8; ++i) {
    ASSERT_OK(enc->Transform(1000 + i, 4096,
                             absl::MakeSpan(single).subspan(i * 4096, 4096)));
  }
  EXPECT_EQ(batch, single);
  // Different sectors with equal plaintext encrypt differently.
  std::vector<uint8_t> zeros(2 * 512);
  ASSERT_OK(enc->Transform(0, 512, absl::MakeSpan(zeros)));
  EXPECT_NE(std::vector<uint8_t>(zeros.begin(), zeros.begin() + 512),
            std::vector<uint8_t>(zeros.begin() + 512, zeros.end()));
}

// Envelopes sealed before the sector passes moved to libgcrypt were written
// with OpenSSL's AES-256-XTS: both must agree, in both directions, for 4 KiB
// sectors numbered past 2^32.
TEST_P(XtsSectorCipherTest, AgreesWithOpenSsl) {
  const std::vector<uint8_t> key = RandomBytes(64, 21);
  const std::vector<uint8_t> plain = RandomBytes(4 * 4096, 22);
  const uint64_t first = 0x100000001ull;
  std::vector<uint8_t> ours = plain;
  ASSERT_OK(Make(SecretBytes::CopyOf(key), Dir::kEncrypt)
                ->Transform(first, 4096, absl::MakeSpan(ours)));

  std::vector<uint8_t> theirs(plain.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_NE(ctx, nullptr);
  for (size_t i = 0; i < 4; ++i) {
    uint8_t tweak[16];
    XtsTweak(first + i, tweak);
    int len = 0;
    ASSERT_EQ(
        EVP_EncryptInit_ex2(ctx, EVP_aes_256_xts(), key.data(), tweak, nullptr),
        1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx, theirs.data() + i * 4096, &len,
                                plain.data() + i * 4096, 4096),
              1);
  }
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(ToHex(ours), ToHex(theirs));

  ASSERT_OK(Make(SecretBytes::CopyOf(key), Dir::kDecrypt)
                ->Transform(first, 4096, absl::MakeSpan(theirs)));
  EXPECT_EQ(theirs, plain);
}

TEST_P(XtsSectorCipherTest, ConcurrentCallersGetTheSameResult) {
  SecretBytes key = SecretFromHex(kKey);
  auto enc = Make(key, Dir::kEncrypt);
  const std::vector<uint8_t> plain = RandomBytes(64 * 512, 3);
  std::vector<uint8_t> expected = plain;
  ASSERT_OK(enc->Transform(5, 512, absl::MakeSpan(expected)));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        std::vector<uint8_t> data = plain;
        if (!enc->Transform(5, 512, absl::MakeSpan(data)).ok() ||
            data != expected) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

INSTANTIATE_TEST_SUITE_P(Backends, XtsSectorCipherTest,
                         ::testing::ValuesIn(UsableBackends()),
                         testing::BackendTestName);

}  // namespace
}  // namespace dumpcrypt
