#include "envelope/flattened_view.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

// MemoryView is an EnvelopeView over bytes in memory.
class MemoryView final : public EnvelopeView {
 public:
  explicit MemoryView(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                absl::Span<uint8_t> out) const override {
    if (offset >= bytes_.size()) return 0;
    const size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return n;
  }
  absl::StatusOr<VerifyReport> Verify(const ProgressFn&) override {
    return VerifyReport{};
  }

 private:
  const std::string bytes_;
};

void PutBe64(std::string* out, int64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

struct Record {
  int64_t offset;
  std::string data;
};

std::string Flatten(const std::vector<Record>& records, bool end = true) {
  std::string s = "makedumpfile";
  s.resize(16, '\0');
  PutBe64(&s, 1);
  PutBe64(&s, 1);
  s.resize(kFlatHeaderSize, '\0');
  for (const Record& r : records) {
    PutBe64(&s, r.offset);
    PutBe64(&s, static_cast<int64_t>(r.data.size()));
    s += r.data;
  }
  if (end) {
    PutBe64(&s, -1);
    PutBe64(&s, -1);
  }
  return s;
}

// Rearranged is what `makedumpfile -R` writes: each record at its offset,
// later over earlier, zeros between.
std::string Rearranged(const std::vector<Record>& records) {
  std::string out;
  for (const Record& r : records) {
    if (r.data.empty()) continue;
    if (out.size() < r.offset + r.data.size()) {
      out.resize(r.offset + r.data.size(), '\0');
    }
    out.replace(r.offset, r.data.size(), r.data);
  }
  return out;
}

std::string ReadAll(const RandomAccessView& view, size_t chunk) {
  std::string out(view.size(), '?');
  for (uint64_t at = 0; at < view.size(); at += chunk) {
    auto got = view.ReadAt(
        at, absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()) + at,
                           std::min<uint64_t>(chunk, view.size() - at)));
    EXPECT_TRUE(got.ok()) << got.status();
  }
  return out;
}

std::string Scanned(const std::string& stream, FlattenedScan* scan) {
  for (size_t at = 0; at < stream.size(); at += 7) {
    scan->Feed(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(stream.data()) + at,
        std::min<size_t>(7, stream.size() - at)));
  }
  return stream;
}

TEST(FlattenedViewTest, ShowsWhatMakedumpfileRearrangeWrites) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<Record> records;
    const int n = 1 + rng() % 40;
    for (int i = 0; i < n; ++i) {
      Record r;
      r.offset = rng() % 100000;
      r.data.resize(rng() % 9000);
      for (char& c : r.data) c = static_cast<char>('a' + rng() % 26);
      records.push_back(std::move(r));
    }
    const std::string stream = Flatten(records);
    FlattenedScan scan;
    Scanned(stream, &scan);
    ASSERT_TRUE(scan.complete());
    const std::string want = Rearranged(records);
    EXPECT_EQ(scan.size(), want.size());
    auto view =
        OpenFlattened(std::make_unique<MemoryView>(stream), scan.size());
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ((*view)->size(), want.size());
    EXPECT_EQ(ReadAll(**view, 1 + rng() % 20000), want) << "round " << round;
  }
}

TEST(FlattenedViewTest, ACutStreamShowsWhatItHolds) {
  const std::vector<Record> records = {{0, std::string(5000, 'x')},
                                       {8192, std::string(3000, 'y')}};
  std::string stream = Flatten(records, /*end=*/false);
  stream.resize(stream.size() - 1000);  // inside the second record
  FlattenedScan scan;
  Scanned(stream, &scan);
  EXPECT_TRUE(scan.flattened());
  EXPECT_FALSE(scan.complete());
  EXPECT_EQ(scan.size(), 8192u + 2000);
  auto view = OpenFlattened(std::make_unique<MemoryView>(stream), scan.size());
  ASSERT_TRUE(view.ok()) << view.status();
  const std::string got = ReadAll(**view, 4096);
  EXPECT_EQ(got.substr(8192), std::string(2000, 'y'));
}

TEST(FlattenedViewTest, MalformedStreamsAndWrongSizesAreDamage) {
  std::string stream = Flatten({{-5, "abc"}});
  FlattenedScan scan;
  Scanned(stream, &scan);
  EXPECT_TRUE(scan.malformed());
  EXPECT_TRUE(absl::IsDataLoss(
      OpenFlattened(std::make_unique<MemoryView>(stream), 0).status()));
  // An empty record inside another's bytes takes nothing away.
  stream = Flatten({{0, "abcdef"}, {3, ""}});
  auto view = OpenFlattened(std::make_unique<MemoryView>(stream), 6);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(ReadAll(**view, 6), "abcdef");
  stream = Flatten({{10, "abc"}});
  EXPECT_TRUE(absl::IsDataLoss(
      OpenFlattened(std::make_unique<MemoryView>(stream), 14).status()));
  EXPECT_TRUE(OpenFlattened(std::make_unique<MemoryView>(stream), 13).ok());
  FlattenedScan trailing;
  Scanned(stream + "more", &trailing);
  EXPECT_TRUE(trailing.malformed());
  FlattenedScan elf;
  Scanned(
      "\x7f"
      "ELF" +
          std::string(5000, '\0'),
      &elf);
  EXPECT_FALSE(elf.flattened());
}

}  // namespace
}  // namespace dumpcrypt
