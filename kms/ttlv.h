// TTLV, the encoding of KMIP messages: each item is a 3-byte tag, a 1-byte
// type, a 4-byte big-endian length and a value padded to 8 bytes.
#ifndef DUMPCRYPT_KMS_TTLV_H_
#define DUMPCRYPT_KMS_TTLV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace dumpcrypt {

enum class TtlvType : uint8_t {
  kStructure = 0x01,
  kInteger = 0x02,
  kLongInteger = 0x03,
  kBigInteger = 0x04,
  kEnumeration = 0x05,
  kBoolean = 0x06,
  kTextString = 0x07,
  kByteString = 0x08,
  kDateTime = 0x09,
  kInterval = 0x0A,
};

// Ttlv is one item: a structure with children, a number, or a string of
// bytes. Copyable value type; not thread-safe for writes. Its bytes are
// cleansed when it is destroyed: a decoded reply may hold key material.
class Ttlv {
 public:
  Ttlv(const Ttlv&) = default;
  Ttlv& operator=(const Ttlv&) = default;
  Ttlv(Ttlv&&) noexcept = default;
  Ttlv& operator=(Ttlv&&) noexcept = default;
  ~Ttlv();

  static Ttlv Structure(uint32_t tag, std::vector<Ttlv> children);
  static Ttlv Integer(uint32_t tag, int32_t value);
  static Ttlv LongInteger(uint32_t tag, int64_t value);
  static Ttlv Enumeration(uint32_t tag, uint32_t value);
  static Ttlv Boolean(uint32_t tag, bool value);
  static Ttlv DateTime(uint32_t tag, int64_t seconds);
  static Ttlv Interval(uint32_t tag, uint32_t seconds);
  static Ttlv TextString(uint32_t tag, std::string value);
  static Ttlv ByteString(uint32_t tag, std::string value);
  static Ttlv BigInteger(uint32_t tag, std::string twos_complement);

  uint32_t tag() const { return tag_; }
  TtlvType type() const { return type_; }
  const std::vector<Ttlv>& children() const { return children_; }
  // number is the value of an Integer, LongInteger, Enumeration, Boolean,
  // DateTime or Interval; bytes that of a TextString, ByteString or
  // BigInteger.
  int64_t number() const { return number_; }
  const std::string& bytes() const { return bytes_; }

  // Find returns the first child with `tag` and `type`, or null.
  const Ttlv* Find(uint32_t tag, TtlvType type) const;
  // FindPath follows Find through nested structures to the last tag.
  const Ttlv* FindPath(std::initializer_list<uint32_t> tags,
                       TtlvType last_type) const;

  // Encode appends the item's bytes to `out`.
  void Encode(std::string* out) const;
  std::string Encode() const;

  // Decode parses exactly one item filling `in`. INVALID_ARGUMENT names
  // what is wrong: a length past the end, a wrong fixed length, non-zero
  // padding, an unknown type, nesting deeper than 32.
  static absl::StatusOr<Ttlv> Decode(absl::Span<const uint8_t> in);

  // Cleanse overwrites every byte and text value in this tree (for replies
  // that carried key material).
  void Cleanse();

 private:
  Ttlv(uint32_t tag, TtlvType type) : tag_(tag), type_(type) {}

  uint32_t tag_;
  TtlvType type_;
  int64_t number_ = 0;
  std::string bytes_;
  std::vector<Ttlv> children_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_TTLV_H_
