// Fixed-width integers in byte strings, in either byte order; and hex.
#ifndef DUMPCRYPT_BASE_BYTES_H_
#define DUMPCRYPT_BASE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace dumpcrypt {

// LoadLe reads the `n`-byte (1..8) little-endian number at `p`; LoadBe the
// big-endian one.
inline uint64_t LoadLe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
inline uint64_t LoadBe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

// StoreLe and StoreBe write the low `n` bytes (1..8) of `v` at `p`.
inline void StoreLe(uint64_t v, uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void StoreBe(uint64_t v, uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

// HexValue is the value of one hex digit (either case), or -1.
int HexValue(char c);

// HexDecode decodes exactly 2 * out.size() hex digits of `hex` into `out`
// and returns true; false (with `out` unspecified) for another length or a
// character that is not a hex digit. Writes nothing but `out`, so a secret
// can be decoded straight into locked memory.
bool HexDecode(absl::string_view hex, absl::Span<uint8_t> out);

// HexEncode returns `bytes` as lower-case hex.
std::string HexEncode(absl::Span<const uint8_t> bytes);

// HumanBytes formats a size as "12.3 MiB" (exact bytes under 1 KiB).
std::string HumanBytes(uint64_t bytes);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_BASE_BYTES_H_
