// makedumpfile's flattened format, the only one `makedumpfile -F` writes to
// a pipe (as in a kdump kernel): a 4096-byte header ("makedumpfile", then
// type 1 and version 1 as big-endian int64), then records — big-endian int64
// offset and size, then size bytes to be written at that offset, a later
// record over an earlier one — ended by offset = size = -1. `makedumpfile -R`
// writes the file they describe (a kdump-compressed vmcore); FlattenedView
// shows that file without writing it anywhere.
#ifndef DUMPCRYPT_ENVELOPE_FLATTENED_VIEW_H_
#define DUMPCRYPT_ENVELOPE_FLATTENED_VIEW_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envelope/envelope.h"

namespace dumpcrypt {

inline constexpr uint64_t kFlatHeaderSize = 4096;
inline constexpr uint64_t kFlatRecordHeaderSize = 16;
// A view holds at most this many records (a vmcore written by makedumpfile
// has one per buffer it flushed, far fewer).
inline constexpr uint64_t kMaxFlatRecords = uint64_t{1} << 24;

// IsFlattened is true if `first` (at least 32 bytes) starts a flattened
// stream.
bool IsFlattened(absl::Span<const uint8_t> first);

// FlattenedScan follows a flattened stream as it is written, to learn the
// size of the file it describes. Feed it the stream in order.
class FlattenedScan {
 public:
  void Feed(absl::Span<const uint8_t> bytes);
  // flattened: the header was valid. complete: the end record was seen.
  // malformed: a record was impossible (negative, past 2^60, or after the
  // end record); the stream is then not shown rearranged.
  bool flattened() const { return state_ != State::kHeader && !malformed_; }
  bool complete() const { return state_ == State::kEnded && !malformed_; }
  bool malformed() const { return malformed_; }
  // size is the size of the described file: the furthest end of a record's
  // bytes seen so far.
  uint64_t size() const { return size_; }

 private:
  enum class State { kHeader, kRecordHeader, kData, kEnded };
  State state_ = State::kHeader;
  bool malformed_ = false;
  uint8_t pending_[kFlatHeaderSize] = {};
  size_t pending_fill_ = 0;
  uint64_t data_offset_ = 0;  // where the current record's next byte goes
  uint64_t data_left_ = 0;
  uint64_t size_ = 0;
  uint64_t records_ = 0;
};

// OpenFlattened shows `flat`, a view holding a flattened stream, as the
// file the stream describes. DATA_LOSS if the stream is malformed, holds
// more than kMaxFlatRecords records, or describes a file whose size is not
// `size` (what the writer recorded). Reading the records' headers reads
// the stream once; reads then go to the bytes of the records that hold
// them (zeros where none does). Thread-safe as `flat` is.
absl::StatusOr<std::unique_ptr<EnvelopeView>> OpenFlattened(
    std::unique_ptr<EnvelopeView> flat, uint64_t size);

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_FLATTENED_VIEW_H_
