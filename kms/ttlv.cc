#include "kms/ttlv.h"

#include <openssl/crypto.h>

#include "absl/strings/str_format.h"
#include "base/bytes.h"

namespace dumpcrypt {
namespace {

constexpr int kMaxDepth = 32;

size_t Padded(size_t n) { return (n + 7) / 8 * 8; }

void PutBe(std::string* out, uint64_t v, int bytes) {
  uint8_t b[8];
  StoreBe(v, b, bytes);
  out->append(reinterpret_cast<const char*>(b), bytes);
}

// FixedLength is the value length a numeric type must have, or 0.
uint32_t FixedLength(TtlvType type) {
  switch (type) {
    case TtlvType::kInteger:
    case TtlvType::kEnumeration:
    case TtlvType::kInterval:
      return 4;
    case TtlvType::kLongInteger:
    case TtlvType::kBoolean:
    case TtlvType::kDateTime:
      return 8;
    default:
      return 0;
  }
}

absl::StatusOr<Ttlv> DecodeAt(absl::Span<const uint8_t> in, size_t* pos,
                              int depth);

}  // namespace

Ttlv Ttlv::Structure(uint32_t tag, std::vector<Ttlv> children) {
  Ttlv t(tag, TtlvType::kStructure);
  t.children_ = std::move(children);
  return t;
}

#define DC_TTLV_NUMBER(Name, Type, CType)      \
  Ttlv Ttlv::Name(uint32_t tag, CType value) { \
    Ttlv t(tag, TtlvType::Type);               \
    t.number_ = static_cast<int64_t>(value);   \
    return t;                                  \
  }
DC_TTLV_NUMBER(Integer, kInteger, int32_t)
DC_TTLV_NUMBER(LongInteger, kLongInteger, int64_t)
DC_TTLV_NUMBER(Enumeration, kEnumeration, uint32_t)
DC_TTLV_NUMBER(Boolean, kBoolean, bool)
DC_TTLV_NUMBER(DateTime, kDateTime, int64_t)
DC_TTLV_NUMBER(Interval, kInterval, uint32_t)
#undef DC_TTLV_NUMBER

Ttlv Ttlv::TextString(uint32_t tag, std::string value) {
  Ttlv t(tag, TtlvType::kTextString);
  t.bytes_ = std::move(value);
  return t;
}

Ttlv Ttlv::ByteString(uint32_t tag, std::string value) {
  Ttlv t(tag, TtlvType::kByteString);
  t.bytes_ = std::move(value);
  return t;
}

Ttlv Ttlv::BigInteger(uint32_t tag, std::string twos_complement) {
  Ttlv t(tag, TtlvType::kBigInteger);
  t.bytes_ = std::move(twos_complement);
  return t;
}

const Ttlv* Ttlv::Find(uint32_t tag, TtlvType type) const {
  for (const Ttlv& child : children_) {
    if (child.tag_ == tag && child.type_ == type) return &child;
  }
  return nullptr;
}

const Ttlv* Ttlv::FindPath(std::initializer_list<uint32_t> tags,
                           TtlvType last_type) const {
  const Ttlv* at = this;
  size_t i = 0;
  for (uint32_t tag : tags) {
    at = at->Find(tag, ++i == tags.size() ? last_type : TtlvType::kStructure);
    if (at == nullptr) return nullptr;
  }
  return at;
}

void Ttlv::Encode(std::string* out) const {
  PutBe(out, tag_, 3);
  out->push_back(static_cast<char>(type_));
  const size_t length_at = out->size();
  PutBe(out, 0, 4);
  size_t length = 0;
  switch (type_) {
    case TtlvType::kStructure: {
      const size_t start = out->size();
      for (const Ttlv& child : children_) child.Encode(out);
      length = out->size() - start;
      break;
    }
    case TtlvType::kTextString:
    case TtlvType::kByteString:
    case TtlvType::kBigInteger:
      out->append(bytes_);
      length = bytes_.size();
      out->append(Padded(length) - length, '\0');
      break;
    default:
      length = FixedLength(type_);
      PutBe(out, static_cast<uint64_t>(number_), static_cast<int>(length));
      out->append(8 - length, '\0');
  }
  for (int i = 0; i < 4; ++i) {
    (*out)[length_at + i] = static_cast<char>(length >> (8 * (3 - i)));
  }
}

std::string Ttlv::Encode() const {
  std::string out;
  Encode(&out);
  return out;
}

namespace {

absl::StatusOr<Ttlv> DecodeAt(absl::Span<const uint8_t> in, size_t* pos,
                              int depth) {
  if (depth > kMaxDepth)
    return absl::InvalidArgumentError("TTLV nested too deeply");
  if (in.size() - *pos < 8)
    return absl::InvalidArgumentError("TTLV item header truncated");
  const uint8_t* p = in.data() + *pos;
  const uint32_t tag = static_cast<uint32_t>(LoadBe(p, 3));
  const uint8_t raw_type = p[3];
  const uint32_t length = static_cast<uint32_t>(LoadBe(p + 4, 4));
  if (raw_type < 1 || raw_type > 0x0A) {
    return absl::InvalidArgumentError(
        absl::StrFormat("TTLV tag %06x: unknown type %d", tag, raw_type));
  }
  const TtlvType type = static_cast<TtlvType>(raw_type);
  const size_t padded = Padded(length);
  if (padded < length || in.size() - *pos - 8 < padded) {
    return absl::InvalidArgumentError(
        absl::StrFormat("TTLV tag %06x: length %d past the end", tag, length));
  }
  const size_t value_at = *pos + 8;
  *pos = value_at + padded;
  const uint8_t* v = in.data() + value_at;
  for (size_t i = length; i < padded; ++i) {
    if (v[i] != 0)
      return absl::InvalidArgumentError(
          absl::StrFormat("TTLV tag %06x: padding not zero", tag));
  }
  if (type == TtlvType::kStructure) {
    std::vector<Ttlv> children;
    size_t child_pos = value_at;
    const auto inner = in.subspan(0, value_at + length);
    while (child_pos < value_at + length) {
      absl::StatusOr<Ttlv> child = DecodeAt(inner, &child_pos, depth + 1);
      if (!child.ok()) return child.status();
      children.push_back(std::move(child).value());
    }
    return Ttlv::Structure(tag, std::move(children));
  }
  const std::string bytes(reinterpret_cast<const char*>(v), length);
  switch (type) {
    case TtlvType::kTextString:
      return Ttlv::TextString(tag, bytes);
    case TtlvType::kByteString:
      return Ttlv::ByteString(tag, bytes);
    case TtlvType::kBigInteger: {
      if (length % 8 != 0)
        return absl::InvalidArgumentError(
            "TTLV big integer length not a multiple of 8");
      return Ttlv::BigInteger(tag, bytes);
    }
    default:
      break;
  }
  if (length != FixedLength(type)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "TTLV tag %06x: length %d wrong for its type", tag, length));
  }
  const uint64_t n = LoadBe(v, static_cast<int>(length));
  switch (type) {
    case TtlvType::kInteger:
      return Ttlv::Integer(tag, static_cast<int32_t>(n));
    case TtlvType::kEnumeration:
      return Ttlv::Enumeration(tag, static_cast<uint32_t>(n));
    case TtlvType::kInterval:
      return Ttlv::Interval(tag, static_cast<uint32_t>(n));
    case TtlvType::kLongInteger:
      return Ttlv::LongInteger(tag, static_cast<int64_t>(n));
    case TtlvType::kDateTime:
      return Ttlv::DateTime(tag, static_cast<int64_t>(n));
    default:
      if (n > 1)
        return absl::InvalidArgumentError("TTLV boolean is neither 0 nor 1");
      return Ttlv::Boolean(tag, n == 1);
  }
}

}  // namespace

absl::StatusOr<Ttlv> Ttlv::Decode(absl::Span<const uint8_t> in) {
  size_t pos = 0;
  absl::StatusOr<Ttlv> item = DecodeAt(in, &pos, 0);
  if (item.ok() && pos != in.size())
    return absl::InvalidArgumentError("bytes after the TTLV item");
  return item;
}

Ttlv::~Ttlv() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

void Ttlv::Cleanse() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  for (Ttlv& child : children_) child.Cleanse();
}

}  // namespace dumpcrypt
