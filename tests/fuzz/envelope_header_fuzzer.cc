// libFuzzer target: the envelope header parser, fed untrusted bytes.
#include <cstddef>
#include <cstdint>

#include "envelope/envelope_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = absl::MakeConstSpan(data, size);
  (void)dumpcrypt::HeaderLengthFromFixed(bytes);
  auto header = dumpcrypt::ParseHeader(bytes);
  if (header.ok()) {
    // A parsed header must give sane, non-overflowing sizes and re-encode.
    if (header->ExpectedFileSize() < header->data_offset) __builtin_trap();
    if (header->DecryptedSize() < header->plaintext_length) __builtin_trap();
    dumpcrypt::EnvelopeHeader copy = *header;
    if (!dumpcrypt::EncodeHeader(&copy).ok()) __builtin_trap();
  }
  return 0;
}
