// Sector decryption beside bare OpenSSL EVP and libgcrypt AES-256-XTS loops
// on the same buffers (4 KiB sectors, 1 MiB per iteration), and the .ve tag
// check's AES-256-GCM beside OpenSSL's. bench/run prints the ratios.
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "benchmark/benchmark.h"
#include "crypto/aes_gcm.h"
#include "crypto/sector_tags.h"
#include "crypto/xts_cipher.h"
#include "envelope/envelope_reader.h"
#include "envelope/envelope_writer.h"
#include "envelope/file_keys.h"

namespace dumpcrypt {
namespace {

constexpr size_t kSector = 4096;
constexpr size_t kBlock = 1 << 20;

std::vector<uint8_t> Random(size_t n) {
  std::mt19937_64 gen(42);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(gen());
  return out;
}

void BM_BareEvpXtsDecrypt(benchmark::State& state) {
  const std::vector<uint8_t> key = Random(64);
  std::vector<uint8_t> buf = Random(kBlock);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-XTS", nullptr);
  EVP_DecryptInit_ex2(ctx, cipher, key.data(), nullptr, nullptr);
  uint8_t iv[16] = {};
  for (auto _ : state) {
    for (size_t i = 0; i < kBlock / kSector; ++i) {
      iv[0] = static_cast<uint8_t>(i);
      int len;
      EVP_DecryptInit_ex2(ctx, nullptr, nullptr, iv, nullptr);
      EVP_DecryptUpdate(ctx, buf.data() + i * kSector, &len,
                        buf.data() + i * kSector, kSector);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
  EVP_CIPHER_free(cipher);
  EVP_CIPHER_CTX_free(ctx);
}
BENCHMARK(BM_BareEvpXtsDecrypt);

void BM_XtsSectorCipherDecrypt(benchmark::State& state) {
  auto cipher = XtsSectorCipher::Create(SecretBytes::CopyOf(Random(64)),
                                        XtsSectorCipher::Direction::kDecrypt);
  std::vector<uint8_t> buf = Random(kBlock);
  for (auto _ : state) {
    if (!(*cipher)->Transform(0, kSector, absl::MakeSpan(buf)).ok())
      state.SkipWithError("xts");
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
}
BENCHMARK(BM_XtsSectorCipherDecrypt);

void BM_GmacVerify(benchmark::State& state) {
  auto tagger = SectorTagger::Create(SecretBytes::CopyOf(Random(32)));
  std::vector<uint8_t> buf = Random(kBlock);
  std::vector<uint8_t> tags(kBlock / kSector * 16);
  (void)(*tagger)->Compute(0, kSector, buf, absl::MakeSpan(tags));
  for (auto _ : state) {
    auto bad = (*tagger)->FindBadSector(0, kSector, buf, tags);
    if (!bad.ok() || bad->has_value()) state.SkipWithError("gmac");
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
}
BENCHMARK(BM_GmacVerify);

// One AES-256-GCM message decrypted 1 MiB per call, as a .ve tag check runs.
// The primitives run on the back end DUMPCRYPT_CRYPTO names (bench/crypto
// runs this once per back end).
void BM_BareEvpGcmDecrypt(benchmark::State& state) {
  const std::vector<uint8_t> key = Random(32);
  const std::vector<uint8_t> iv = Random(12);
  std::vector<uint8_t> in = Random(kBlock);
  std::vector<uint8_t> out(kBlock);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key.data(), iv.data(), nullptr);
  for (auto _ : state) {
    int len;
    EVP_DecryptUpdate(ctx, out.data(), &len, in.data(), kBlock);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
  EVP_CIPHER_CTX_free(ctx);
}
BENCHMARK(BM_BareEvpGcmDecrypt);

void BM_AesGcmDecryptor(benchmark::State& state) {
  auto gcm = AesGcmDecryptor::Create(SecretBytes::CopyOf(Random(32)),
                                     Random(12), Random(4096));
  std::vector<uint8_t> in = Random(kBlock);
  std::vector<uint8_t> out(kBlock);
  for (auto _ : state) {
    if (!(*gcm)->Update(in, absl::MakeSpan(out)).ok())
      state.SkipWithError("gcm");
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
}
BENCHMARK(BM_AesGcmDecryptor);

// EnvelopeReader::ReadAt of 1 MiB blocks from a 64 MiB envelope in the page
// cache: preadv, tag check (arg 1) and decryption.
void BM_EnvelopeReaderReadAt(benchmark::State& state) {
  const bool integrity = state.range(0) != 0;
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") +
                           "/dumpcrypt-bench-" + std::to_string(getpid()) +
                           (integrity ? "-t" : "-n");
  SecretBytes kek = SecretBytes::CopyOf(Random(32));
  SealOptions options;
  options.integrity = integrity;
  options.overwrite = true;
  constexpr size_t kFile = 64 << 20;
  {
    auto writer = EnvelopeWriter::Create(path, {"", "bench"}, kek, options);
    std::vector<uint8_t> data = Random(kBlock);
    for (size_t i = 0; i < kFile / kBlock; ++i) (void)(*writer)->Write(data);
    if (!(*writer)->Finish().ok()) state.SkipWithError("seal");
  }
  auto fd = OpenReadOnly(path);
  auto header = ReadHeader(fd->get());
  auto data_key = UnwrapDataKey(header->slots[0], kek);
  auto reader =
      EnvelopeReader::Open(std::move(*fd), std::move(*header), *data_key);
  unlink(path.c_str());
  std::vector<uint8_t> out(kBlock);
  uint64_t pos = 0;
  for (auto _ : state) {
    auto got = (*reader)->ReadAt(pos, absl::MakeSpan(out));
    if (!got.ok()) state.SkipWithError("read");
    pos = (pos + kBlock) % kFile;
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
}
BENCHMARK(BM_EnvelopeReaderReadAt)->Arg(0)->Arg(1);

// The I/O part alone: pread of 1 MiB blocks of a 64 MiB file in the page
// cache, no decryption.
void BM_PreadOnly(benchmark::State& state) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") +
                           "/dumpcrypt-bench-" + std::to_string(getpid()) +
                           "-p";
  constexpr size_t kFile = 64 << 20;
  {
    auto out = AtomicFile::Create(path, true);
    std::vector<uint8_t> data = Random(kBlock);
    for (size_t i = 0; i < kFile / kBlock; ++i)
      (void)WriteFull(out->fd(), data);
    (void)out->Commit();
  }
  auto fd = OpenReadOnly(path);
  unlink(path.c_str());
  std::vector<uint8_t> buf(kBlock);
  uint64_t pos = 0;
  for (auto _ : state) {
    if (!PreadFull(fd->get(), absl::MakeSpan(buf), pos).ok())
      state.SkipWithError("pread");
    pos = (pos + kBlock) % kFile;
  }
  state.SetBytesProcessed(state.iterations() * kBlock);
}
BENCHMARK(BM_PreadOnly);

}  // namespace
}  // namespace dumpcrypt

BENCHMARK_MAIN();
