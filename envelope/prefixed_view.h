// ReadPrefixedView: reading a view made of a cleartext prefix followed by
// decrypted data, shared by the dumpcrypt and VMware readers.
#ifndef DUMPCRYPT_ENVELOPE_PREFIXED_VIEW_H_
#define DUMPCRYPT_ENVELOPE_PREFIXED_VIEW_H_

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace dumpcrypt {

// ReadPrefixedView fills `out` from `offset` of a view of `total` bytes:
// `prefix`, then what `read_rest(pos, span)` produces for position `pos`
// after the prefix. Returns the count, less than out.size() only at the end.
template <typename ReadRest>
absl::StatusOr<size_t> ReadPrefixedView(absl::Span<const uint8_t> prefix,
                                        uint64_t total, uint64_t offset,
                                        absl::Span<uint8_t> out,
                                        ReadRest read_rest) {
  if (offset >= total || out.empty()) return 0;
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(out.size(), total - offset));
  size_t done = 0;
  if (offset < prefix.size()) {
    done = std::min<size_t>(n, prefix.size() - offset);
    std::memcpy(out.data(), prefix.data() + offset, done);
  }
  if (done < n) {
    absl::Status status =
        read_rest(offset + done - prefix.size(), out.subspan(done, n - done));
    if (!status.ok()) return status;
  }
  return n;
}

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_PREFIXED_VIEW_H_
