#include "tools/elf_core.h"

#include <algorithm>
#include <cstring>

#include "base/bytes.h"

namespace dumpcrypt {
namespace {

constexpr uint8_t kElfMagic[] = {0x7f, 'E', 'L', 'F'};
constexpr uint16_t kCoreType = 4;           // ET_CORE
constexpr uint16_t kManySegments = 0xffff;  // PN_XNUM: count kept elsewhere

}  // namespace

void ElfCoreCheck::Feed(absl::Span<const uint8_t> bytes) {
  fed_ += bytes.size();
  const size_t take = std::min(bytes.size(), kMaxHead - head_.size());
  head_.insert(head_.end(), bytes.begin(), bytes.begin() + take);
}

std::optional<uint64_t> ElfCoreCheck::NeededSize() const {
  const uint8_t* h = head_.data();
  if (head_.size() < 64 || std::memcmp(h, kElfMagic, 4) != 0)
    return std::nullopt;
  const bool wide = h[4] == 2;  // ELFCLASS64
  if (h[4] != 1 && !wide) return std::nullopt;
  if (h[5] != 1 && h[5] != 2) return std::nullopt;
  const bool little = h[5] == 1;  // ELFDATA2LSB
  auto at = [&](uint64_t offset, size_t n) {
    return little ? LoadLe(h + offset, n) : LoadBe(h + offset, n);
  };
  if (at(16, 2) != kCoreType) return std::nullopt;
  const uint64_t phoff = wide ? at(32, 8) : at(28, 4);
  const uint64_t phentsize = wide ? at(54, 2) : at(42, 2);
  const uint64_t phnum = wide ? at(56, 2) : at(44, 2);
  const uint64_t min_entry = wide ? 56 : 32;
  if (phnum == kManySegments || phentsize < min_entry) return std::nullopt;
  if (phoff > head_.size() || phnum * phentsize > head_.size() - phoff)
    return std::nullopt;
  uint64_t needed = phoff + phnum * phentsize;
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint64_t p = phoff + i * phentsize;
    const uint64_t offset = wide ? at(p + 8, 8) : at(p + 4, 4);
    const uint64_t size = wide ? at(p + 32, 8) : at(p + 16, 4);
    if (size == 0) continue;
    if (offset > UINT64_MAX - size) return std::nullopt;
    needed = std::max(needed, offset + size);
  }
  return needed;
}

bool ElfCoreCheck::Truncated() const {
  const std::optional<uint64_t> needed = NeededSize();
  return needed.has_value() && fed_ < *needed;
}

}  // namespace dumpcrypt
