#include "crypto/aes_ctr.h"

#include <openssl/evp.h>

#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

// The back end every test of this file runs on, set by the fixture: each
// test runs once per back end in the build.
CryptoBackend g_backend = CryptoBackend::kDefault;

class AesCtrTest : public ::testing::TestWithParam<CryptoBackend> {
 protected:
  void SetUp() override { g_backend = GetParam(); }
};

using testing::RandomBytes;

std::vector<uint8_t> OpenSsl(const EVP_CIPHER* cipher, const SecretBytes& key,
                             const uint8_t* iv, std::vector<uint8_t> data) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex2(ctx, cipher, key.data(), iv, nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, data.data(), &len, data.data(),
                              static_cast<int>(data.size())),
            1);
  EVP_CIPHER_CTX_free(ctx);
  return data;
}

std::unique_ptr<AesCtr> Make(const SecretBytes& key) {
  auto ctr = AesCtr::Create(key, g_backend);
  EXPECT_TRUE(ctr.ok()) << ctr.status();
  return ctr.ok() ? std::move(ctr).value() : nullptr;
}

// The counter block of byte `pos` of a GCM message: 12 nonce bytes, then
// 2 + pos / 16, big-endian.
void CounterAt(const std::vector<uint8_t>& nonce, uint64_t pos,
               uint8_t out[16]) {
  std::memcpy(out, nonce.data(), 12);
  const uint32_t c = static_cast<uint32_t>(2 + pos / 16);
  for (int i = 0; i < 4; ++i) out[15 - i] = static_cast<uint8_t>(c >> (8 * i));
}

// Message is `plain` encrypted by OpenSSL's CTR as GCM would, from block 2.
struct Message {
  SecretBytes key;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> plain;
  std::vector<uint8_t> cipher;
};

Message MakeMessage(size_t size, uint32_t seed) {
  Message m{SecretBytes::CopyOf(RandomBytes(32, seed)),
            RandomBytes(12, seed + 1),
            RandomBytes(size, seed + 2),
            {}};
  uint8_t start[16];
  CounterAt(m.nonce, 0, start);
  m.cipher = OpenSsl(EVP_aes_256_ctr(), m.key, start, m.plain);
  return m;
}

// Any range of a message, from any byte, matches OpenSSL's CTR over the
// whole message.
TEST_P(AesCtrTest, AnyRangeMatchesOpenSsl) {
  const auto [key, nonce, plain, cipher] = MakeMessage(300001, 1);
  auto ctr = Make(key);
  ASSERT_NE(ctr, nullptr);
  std::mt19937_64 gen(4);
  for (int i = 0; i < 300; ++i) {
    const uint64_t pos = i == 0 ? 0 : gen() % plain.size();
    const size_t len =
        1 + gen() % std::min<uint64_t>(70000, plain.size() - pos);
    std::vector<uint8_t> buf(cipher.begin() + pos, cipher.begin() + pos + len);
    uint8_t counter[16];
    CounterAt(nonce, pos, counter);
    ASSERT_OK(ctr->Transform(counter, pos % 16, absl::MakeSpan(buf)));
    ASSERT_TRUE(std::equal(buf.begin(), buf.end(), plain.begin() + pos))
        << pos << "+" << len;
  }
}

// Past 0xffffffff the counter goes back to 0 in the last four bytes only,
// as GCM's does (OpenSSL's CTR would carry into the nonce).
TEST_P(AesCtrTest, CounterWrapsInItsLastFourBytes) {
  const SecretBytes key = SecretBytes::CopyOf(RandomBytes(32, 5));
  const std::vector<uint8_t> nonce = RandomBytes(12, 6);
  std::vector<uint8_t> blocks;
  for (uint32_t c : {0xfffffffeu, 0xffffffffu, 0u, 1u}) {
    blocks.insert(blocks.end(), nonce.begin(), nonce.end());
    for (int i = 3; i >= 0; --i)
      blocks.push_back(static_cast<uint8_t>(c >> (8 * i)));
  }
  const std::vector<uint8_t> keystream =
      OpenSsl(EVP_aes_256_ecb(), key, nullptr, blocks);
  auto ctr = Make(key);
  ASSERT_NE(ctr, nullptr);
  for (size_t skip : {0ul, 5ul}) {
    std::vector<uint8_t> data(64 - skip, 0);
    ASSERT_OK(ctr->Transform(blocks.data(), skip, absl::MakeSpan(data)));
    EXPECT_TRUE(std::equal(data.begin(), data.end(), keystream.begin() + skip))
        << "skip " << skip;
  }
}

TEST_P(AesCtrTest, ThreadsShareOneKey) {
  const Message m = MakeMessage(1 << 20, 7);
  auto ctr = Make(m.key);
  ASSERT_NE(ctr, nullptr);
  std::vector<std::vector<uint8_t>> outs(4, m.cipher);
  std::vector<std::thread> threads;
  for (auto& out : outs) {
    threads.emplace_back([&] {
      for (size_t pos = 0; pos < out.size(); pos += 4096) {
        uint8_t counter[16];
        CounterAt(m.nonce, pos, counter);
        EXPECT_OK(ctr->Transform(counter, 0, {out.data() + pos, 4096}));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : outs) EXPECT_TRUE(out == m.plain);
}

TEST_P(AesCtrTest, RejectsBadKeyAndSkip) {
  EXPECT_FALSE(
      AesCtr::Create(SecretBytes::CopyOf(RandomBytes(16, 1)), g_backend).ok());
  auto ctr = Make(SecretBytes::CopyOf(RandomBytes(32, 1)));
  ASSERT_NE(ctr, nullptr);
  uint8_t counter[16] = {};
  uint8_t data[32] = {};
  EXPECT_EQ(ctr->Transform(counter, 16, {data, 32}).code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, AesCtrTest,
                         ::testing::ValuesIn(UsableBackends()),
                         testing::BackendTestName);

}  // namespace
}  // namespace dumpcrypt
