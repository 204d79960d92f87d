#include "crypto/sector_tags.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

// The back end every test of this file runs on, set by the fixture: each
// test runs once per back end in the build.
CryptoBackend g_backend = CryptoBackend::kDefault;

class SectorTaggerTest : public ::testing::TestWithParam<CryptoBackend> {
 protected:
  void SetUp() override { g_backend = GetParam(); }
};

using testing::FromHex;
using testing::RandomBytes;
using testing::SecretFromHex;
using testing::ToHex;

std::unique_ptr<SectorTagger> Make(const SecretBytes& key) {
  auto tagger = SectorTagger::Create(key.Clone(), g_backend);
  EXPECT_TRUE(tagger.ok()) << tagger.status();
  return tagger.ok() ? std::move(tagger).value() : nullptr;
}

// The GCM specification (McGrew and Viega), test cases 1 and 13: zero key,
// zero 96-bit IV, empty plaintext and AAD.
TEST_P(SectorTaggerTest, GcmSpecEmptyPlaintextVectors) {
  const std::vector<uint8_t> nonce(12, 0);
  uint8_t tag[16];
  ASSERT_OK(Make(SecretFromHex(std::string(32, '0')))->Gmac(nonce, {}, tag));
  EXPECT_EQ(ToHex(tag), "58e2fccefa7e3061367f1d57a4e7455a");
  ASSERT_OK(Make(SecretFromHex(std::string(64, '0')))->Gmac(nonce, {}, tag));
  EXPECT_EQ(ToHex(tag), "530f8afbc74536b9a963b4f1c4cb738b");
}

std::string OpenSslGmac(const std::vector<uint8_t>& key,
                        const std::vector<uint8_t>& nonce,
                        const std::vector<uint8_t>& aad) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "GMAC", nullptr);
  EXPECT_NE(mac, nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  std::string cipher = "AES-" + std::to_string(key.size() * 8) + "-GCM";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV,
                                        const_cast<uint8_t*>(nonce.data()), 12),
      OSSL_PARAM_construct_end()};
  uint8_t theirs[16];
  size_t len = 0;
  EXPECT_EQ(EVP_MAC_init(ctx, key.data(), key.size(), params), 1);
  EXPECT_EQ(EVP_MAC_update(ctx, aad.data(), aad.size()), 1);
  EXPECT_EQ(EVP_MAC_final(ctx, theirs, &len, sizeof(theirs)), 1);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return ToHex(theirs);
}

// OpenSSL's EVP_MAC "GMAC" is a separate implementation: the tags must agree
// for every key size and for lengths that end inside a block.
TEST_P(SectorTaggerTest, AgreesWithOpenSslGmacOverAad) {
  const std::vector<uint8_t> nonce = FromHex("2a0000000000000000000000");
  for (size_t key_size : {16, 24, 32}) {
    const std::vector<uint8_t> key = RandomBytes(key_size, 11);
    auto tagger = Make(SecretBytes::CopyOf(key));
    for (size_t aad_size : {1, 15, 16, 100, 512, 4096, 4097}) {
      SCOPED_TRACE(absl::StrCat(key_size, "-byte key, ", aad_size, " bytes"));
      const std::vector<uint8_t> aad = RandomBytes(aad_size, aad_size);
      uint8_t ours[16];
      ASSERT_OK(tagger->Gmac(nonce, aad, ours));
      EXPECT_EQ(ToHex(ours), OpenSslGmac(key, nonce, aad));
    }
  }
}

TEST_P(SectorTaggerTest, FindsTheFirstBadSector) {
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

// One tagger serves every thread of the mount: each call keeps its own
// running state.
TEST_P(SectorTaggerTest, ConcurrentCallsAgree) {
  auto tagger = Make(SecretBytes::CopyOf(RandomBytes(32, 3)));
  const std::vector<uint8_t> data = RandomBytes(16 * 4096, 4);
  std::vector<uint8_t> expected(16 * 16);
  ASSERT_OK(tagger->Compute(7, 4096, data, absl::MakeSpan(expected)));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        std::vector<uint8_t> tags(expected.size());
        auto bad = tagger->FindBadSector(7, 4096, data, expected);
        if (!tagger->Compute(7, 4096, data, absl::MakeSpan(tags)).ok() ||
            tags != expected || !bad.ok() || bad->has_value()) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_P(SectorTaggerTest, RejectsMismatchedBuffersAndKeys) {
  EXPECT_FALSE(SectorTagger::Create(SecretBytes(20), g_backend).ok());
  auto tagger = Make(SecretBytes::CopyOf(RandomBytes(32, 1)));
  std::vector<uint8_t> data(1024), tags(16);
  EXPECT_EQ(tagger->Compute(0, 512, data, absl::MakeSpan(tags)).code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, SectorTaggerTest,
                         ::testing::ValuesIn(UsableBackends()),
                         testing::BackendTestName);

}  // namespace
}  // namespace dumpcrypt
