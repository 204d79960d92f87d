// ByteWriter and ByteReader: the little-endian field codec of the envelope
// header and its key slots.
#ifndef DUMPCRYPT_ENVELOPE_BYTE_CODEC_H_
#define DUMPCRYPT_ENVELOPE_BYTE_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/bytes.h"

namespace dumpcrypt {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(absl::Span<const uint8_t> b) {
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void Str(absl::string_view s) {
    Bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& out() { return out_; }

 private:
  void Le(uint64_t v, size_t n) {
    uint8_t b[8];
    StoreLe(v, b, n);
    out_.insert(out_.end(), b, b + n);
  }
  std::vector<uint8_t> out_;
};

// ByteReader reads little-endian fields; any read past the end sets a sticky
// failure and yields zeros.
class ByteReader {
 public:
  explicit ByteReader(absl::Span<const uint8_t> in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Le(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Le(4)); }
  uint64_t U64() { return Le(8); }
  absl::Span<const uint8_t> Bytes(size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return {};
    }
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string Str(size_t n) {
    auto b = Bytes(n);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  bool failed() const { return failed_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  uint64_t Le(int n) {
    auto b = Bytes(static_cast<size_t>(n));
    return LoadLe(b.data(), b.size());
  }
  absl::Span<const uint8_t> in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_BYTE_CODEC_H_
