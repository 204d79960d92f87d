#include "tools/elf_core.h"

#include <vector>

#include "base/bytes.h"
#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

struct Segment {
  uint64_t offset;
  uint64_t size;
};

// Core builds the head of an ELF core: its header and program headers.
std::vector<uint8_t> Core(bool wide, bool little,
                          const std::vector<Segment>& segments,
                          uint16_t type = 4) {
  const size_t ehsize = wide ? 64 : 52, phentsize = wide ? 56 : 32;
  std::vector<uint8_t> out(ehsize + segments.size() * phentsize);
  auto put = [&](size_t at, uint64_t v, size_t n) {
    little ? StoreLe(v, &out[at], n) : StoreBe(v, &out[at], n);
  };
  out[0] = 0x7f, out[1] = 'E', out[2] = 'L', out[3] = 'F';
  out[4] = wide ? 2 : 1;
  out[5] = little ? 1 : 2;
  put(16, type, 2);
  put(wide ? 32 : 28, ehsize, wide ? 8 : 4);
  put(wide ? 54 : 42, phentsize, 2);
  put(wide ? 56 : 44, segments.size(), 2);
  for (size_t i = 0; i < segments.size(); ++i) {
    const size_t p = ehsize + i * phentsize;
    put(wide ? p + 8 : p + 4, segments[i].offset, wide ? 8 : 4);
    put(wide ? p + 32 : p + 16, segments[i].size, wide ? 8 : 4);
  }
  return out;
}

TEST(ElfCoreCheckTest, NeedsEverySegmentInEveryClassAndByteOrder) {
  for (bool wide : {true, false}) {
    for (bool little : {true, false}) {
      const std::vector<uint8_t> head =
          Core(wide, little, {{4096, 100}, {8192, 0}, {1000, 5000}});
      ElfCoreCheck check;
      check.Feed(head);
      ASSERT_EQ(check.NeededSize(), std::optional<uint64_t>(6000))
          << wide << little;
      EXPECT_TRUE(check.Truncated());
      check.Feed(std::vector<uint8_t>(6000 - head.size() - 1));
      EXPECT_TRUE(check.Truncated());
      check.Feed(std::vector<uint8_t>(1));
      EXPECT_FALSE(check.Truncated());
    }
  }
}

TEST(ElfCoreCheckTest, HeadersSplitAcrossPiecesAreRead) {
  const std::vector<uint8_t> head = Core(true, true, {{0, 1 << 20}});
  ElfCoreCheck check;
  for (uint8_t b : head) check.Feed({&b, 1});
  EXPECT_EQ(check.NeededSize(), std::optional<uint64_t>(1 << 20));
}

TEST(ElfCoreCheckTest, WhatIsNotACheckableCoreIsNeverTruncated) {
  std::vector<std::vector<uint8_t>> inputs = {
      std::vector<uint8_t>(100, 'x'),               // not ELF
      Core(true, true, {{4096, 100}}, /*type=*/2),  // an executable
      Core(true, true, {{UINT64_MAX - 5, 100}}),    // overflowing
  };
  std::vector<uint8_t> many = Core(true, true, {{4096, 100}});
  StoreLe(0xffff, &many[56], 2);  // PN_XNUM: the count lies elsewhere
  inputs.push_back(many);
  std::vector<uint8_t> cut = Core(true, true, {{4096, 100}, {9000, 1}});
  cut.resize(cut.size() - 10);  // the program headers end early
  inputs.push_back(cut);
  for (const auto& input : inputs) {
    ElfCoreCheck check;
    check.Feed(input);
    EXPECT_FALSE(check.NeededSize().has_value());
    EXPECT_FALSE(check.Truncated());
  }
}

}  // namespace
}  // namespace dumpcrypt
