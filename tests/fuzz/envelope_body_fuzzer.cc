// libFuzzer target: a whole envelope file of either format, probed and
// opened through the EnvelopeFormat interface with the key its seeds were
// sealed under, then read. The seeds (corpus/envelope_body) hold the
// pattern below from byte 0 of their payload: a mutated file must fail
// (DATA_LOSS or a clean error), or read back exactly that. Never a crash,
// never wrong bytes.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "envelope/envelope.h"
#include "kms/vmware_keystore.h"

namespace {

// The seeds' key (dumpcrypt: the KEK; VMware: the GCM key).
constexpr char kKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

uint8_t Pattern(uint64_t i) { return static_cast<uint8_t>((i * 31 + 7) % 251); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("envelope", MFD_CLOEXEC);
  if (fd < 0) return 0;
  dumpcrypt::UniqueFd owned(fd);
  if (write(fd, data, size) != static_cast<ssize_t>(size)) return 0;
  auto probed = dumpcrypt::ProbeEnvelope(fd);
  if (!probed.ok() || !probed->is_envelope()) return 0;
  dumpcrypt::SecretBytes key(32);
  dumpcrypt::HexDecode(kKeyHex, key.mutable_span());
  dumpcrypt::FixedKeyResolver keys(std::move(key));
  auto view = probed->envelope->Open(dumpcrypt::UniqueFd(dup(fd)), keys,
                                     dumpcrypt::OpenPolicy());
  if (!view.ok()) return 0;
  // Sealed without integrity tags, a changed sector decrypts to other bytes
  // by design: there only the absence of a crash is checked.
  bool tagged = true;
  for (const auto& a : probed->envelope->Attributes())
    if (a.name == "integrity" && a.value == "none") tagged = false;
  std::vector<uint8_t> buf(4096);
  const uint64_t start = (*view)->payload_offset();
  for (uint64_t pos = start; pos < (*view)->size();) {
    auto got = (*view)->ReadAt(pos, absl::MakeSpan(buf));
    if (!got.ok()) return 0;          // a damaged range: refused, as it must be
    if (*got == 0) __builtin_trap();  // the view ends before its size
    for (size_t i = 0; tagged && i < *got; ++i) {
      if (buf[i] != Pattern(pos + i - start)) __builtin_trap();  // wrong bytes
    }
    pos += *got;
  }
  return 0;
}
