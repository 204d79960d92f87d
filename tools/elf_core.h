// ElfCoreCheck: whether a core dump read as a stream is complete. An ELF
// core says, in its program headers, where each segment's bytes lie; a core
// cut short (a broken pipe, a full disk at the writer) ends before the last
// of them.
#ifndef DUMPCRYPT_TOOLS_ELF_CORE_H_
#define DUMPCRYPT_TOOLS_ELF_CORE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace dumpcrypt {

class ElfCoreCheck {
 public:
  // Feed takes the next bytes of the stream, in order.
  void Feed(absl::Span<const uint8_t> bytes);

  // NeededSize is the size the stream must reach to hold every segment its
  // program headers name: known once they have been fed, if the stream is
  // an ELF core (32- or 64-bit, either byte order) whose program headers
  // lie in its first MiB. Otherwise none, and nothing can be checked.
  std::optional<uint64_t> NeededSize() const;

  // Truncated is true if the stream is a checkable ELF core and the bytes
  // fed so far end before NeededSize().
  bool Truncated() const;

  uint64_t fed() const { return fed_; }

 private:
  static constexpr size_t kMaxHead = 1 << 20;
  std::vector<uint8_t> head_;  // the first bytes, up to kMaxHead
  uint64_t fed_ = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_TOOLS_ELF_CORE_H_
