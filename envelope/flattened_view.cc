#include "envelope/flattened_view.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace dumpcrypt {
namespace {

constexpr char kSignature[] = "makedumpfile";
constexpr uint64_t kMaxOffset = uint64_t{1} << 60;

int64_t Be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return static_cast<int64_t>(v);
}

// A Piece is `length` bytes of the described file at `at`, held in the
// stream at `source`.
struct Piece {
  uint64_t at = 0;
  uint64_t length = 0;
  uint64_t source = 0;
};

// Overlay keeps the pieces of the described file, a later piece over an
// earlier one where they overlap.
class Overlay {
 public:
  // Put lays `p` (length > 0) over what is there.
  void Put(Piece p) {
    const uint64_t end = p.at + p.length;
    auto it = pieces_.lower_bound(p.at);
    if (it != pieces_.begin()) {
      auto before = std::prev(it);
      const uint64_t before_end = before->first + before->second.length;
      if (before_end > p.at) {
        Piece tail = before->second;
        before->second.length = p.at - before->first;
        if (before_end > end) {
          tail.source += end - tail.at;
          tail.length = before_end - end;
          tail.at = end;
          pieces_[end] = tail;
        }
      }
    }
    it = pieces_.lower_bound(p.at);
    while (it != pieces_.end() && it->first < end) {
      const uint64_t it_end = it->first + it->second.length;
      if (it_end > end) {
        Piece tail = it->second;
        tail.source += end - tail.at;
        tail.length = it_end - end;
        tail.at = end;
        pieces_.erase(it);
        pieces_[end] = tail;
        break;
      }
      it = pieces_.erase(it);
    }
    pieces_[p.at] = p;
  }
  std::vector<Piece> Sorted() const {
    std::vector<Piece> out;
    out.reserve(pieces_.size());
    for (const auto& [at, p] : pieces_) {
      if (p.length > 0) out.push_back(p);
    }
    return out;
  }

 private:
  std::map<uint64_t, Piece> pieces_;
};

class FlattenedView final : public EnvelopeView {
 public:
  FlattenedView(std::unique_ptr<EnvelopeView> flat, std::vector<Piece> pieces,
                uint64_t size)
      : flat_(std::move(flat)), pieces_(std::move(pieces)), size_(size) {}

  uint64_t size() const override { return size_; }

  absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                absl::Span<uint8_t> out) const override {
    if (offset >= size_) return 0;
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
    std::memset(out.data(), 0, n);
    const uint64_t end = offset + n;
    auto it =
        std::upper_bound(pieces_.begin(), pieces_.end(), offset,
                         [](uint64_t o, const Piece& p) { return o < p.at; });
    if (it != pieces_.begin()) --it;
    for (; it != pieces_.end() && it->at < end; ++it) {
      const uint64_t from = std::max(offset, it->at);
      const uint64_t to = std::min(end, it->at + it->length);
      if (from >= to) continue;
      const absl::Span<uint8_t> part = out.subspan(from - offset, to - from);
      DC_ASSIGN_OR_RETURN(size_t got,
                          flat_->ReadAt(it->source + (from - it->at), part));
      if (got != part.size()) {
        return absl::DataLossError("flattened stream ended inside a record");
      }
    }
    return n;
  }

  absl::StatusOr<VerifyReport> Verify(const ProgressFn& progress) override {
    return flat_->Verify(progress);
  }

 private:
  const std::unique_ptr<EnvelopeView> flat_;
  const std::vector<Piece> pieces_;
  const uint64_t size_;
};

}  // namespace

bool IsFlattened(absl::Span<const uint8_t> first) {
  return first.size() >= 32 &&
         std::memcmp(first.data(), kSignature, sizeof(kSignature)) == 0 &&
         std::all_of(first.begin() + sizeof(kSignature), first.begin() + 16,
                     [](uint8_t b) { return b == 0; }) &&
         Be64(first.data() + 16) == 1 && Be64(first.data() + 24) == 1;
}

void FlattenedScan::Feed(absl::Span<const uint8_t> bytes) {
  while (!bytes.empty() && !malformed_) {
    switch (state_) {
      case State::kHeader:
      case State::kRecordHeader: {
        const size_t need =
            state_ == State::kHeader ? kFlatHeaderSize : kFlatRecordHeaderSize;
        const size_t take = std::min(bytes.size(), need - pending_fill_);
        std::memcpy(pending_ + pending_fill_, bytes.data(), take);
        pending_fill_ += take;
        bytes.remove_prefix(take);
        if (pending_fill_ < need) return;
        pending_fill_ = 0;
        if (state_ == State::kHeader) {
          if (!IsFlattened(absl::MakeConstSpan(pending_, 32))) {
            malformed_ = true;
            return;
          }
          state_ = State::kRecordHeader;
          break;
        }
        const int64_t offset = Be64(pending_), size = Be64(pending_ + 8);
        if (offset == -1 && size == -1) {
          state_ = State::kEnded;
        } else if (offset < 0 || size < 0 ||
                   static_cast<uint64_t>(offset) > kMaxOffset ||
                   static_cast<uint64_t>(size) > kMaxOffset ||
                   ++records_ > kMaxFlatRecords) {
          malformed_ = true;
        } else {
          data_offset_ = static_cast<uint64_t>(offset);
          data_left_ = static_cast<uint64_t>(size);
          state_ = data_left_ > 0 ? State::kData : State::kRecordHeader;
        }
        break;
      }
      case State::kData: {
        const uint64_t take = std::min<uint64_t>(bytes.size(), data_left_);
        data_offset_ += take;
        data_left_ -= take;
        size_ = std::max(size_, data_offset_);
        bytes.remove_prefix(take);
        if (data_left_ == 0) state_ = State::kRecordHeader;
        break;
      }
      case State::kEnded:
        malformed_ = true;  // bytes after the end record
        return;
    }
  }
}

absl::StatusOr<std::unique_ptr<EnvelopeView>> OpenFlattened(
    std::unique_ptr<EnvelopeView> flat, uint64_t size) {
  const uint64_t length = flat->size();
  std::vector<uint8_t> buf(1 << 20);
  uint64_t buf_at = 0, buf_len = 0;
  uint8_t header[32];
  // Read copies `n` bytes at `at` through a 1 MiB window; false past the end.
  auto read = [&](uint64_t at, uint8_t* out, size_t n) -> absl::StatusOr<bool> {
    if (at < buf_at || at + n > buf_at + buf_len) {
      DC_ASSIGN_OR_RETURN(buf_len, flat->ReadAt(at, absl::MakeSpan(buf)));
      buf_at = at;
    }
    if (at + n > buf_at + buf_len) return false;
    std::memcpy(out, buf.data() + (at - buf_at), n);
    return true;
  };
  DC_ASSIGN_OR_RETURN(bool whole, read(0, header, sizeof(header)));
  if (!whole || !IsFlattened(header)) {
    return absl::DataLossError("no makedumpfile flattened header");
  }
  Overlay overlay;
  uint64_t at = kFlatHeaderSize, records = 0, described = 0;
  while (at + kFlatRecordHeaderSize <= length) {
    DC_ASSIGN_OR_RETURN(whole, read(at, header, kFlatRecordHeaderSize));
    if (!whole) break;
    const int64_t offset = Be64(header), bytes = Be64(header + 8);
    if (offset == -1 && bytes == -1) break;
    if (offset < 0 || bytes < 0 || static_cast<uint64_t>(offset) > kMaxOffset ||
        static_cast<uint64_t>(bytes) > kMaxOffset ||
        ++records > kMaxFlatRecords) {
      return absl::DataLossError(absl::StrCat("flattened record at ", at,
                                              " is impossible (offset ", offset,
                                              ", size ", bytes, ")"));
    }
    at += kFlatRecordHeaderSize;
    const uint64_t held = std::min<uint64_t>(bytes, length - at);
    if (held > 0) {
      overlay.Put({static_cast<uint64_t>(offset), held, at});
      described = std::max(described, offset + held);
    }
    at += held;
  }
  if (described != size) {
    return absl::DataLossError(absl::StrCat("the flattened stream describes ",
                                            described,
                                            " bytes, the header says ", size));
  }
  return std::unique_ptr<EnvelopeView>(
      new FlattenedView(std::move(flat), overlay.Sorted(), size));
}

}  // namespace dumpcrypt
