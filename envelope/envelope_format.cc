#include "envelope/envelope_format.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "envelope/byte_codec.h"

namespace dumpcrypt {
namespace {

int SectorShift(uint32_t sector_size) {
  for (int shift = 9; shift <= 16; ++shift) {
    if (sector_size == (1u << shift)) return shift;
  }
  return -1;
}

absl::Status CheckLayout(const EnvelopeHeader& h) {
  if (SectorShift(h.sector_size) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sector size ", h.sector_size, " is not a power of two 512..65536"));
  }
  if (h.prefix_length > kMaxPrefixSize) {
    return absl::InvalidArgumentError("cleartext prefix is over 1 MiB");
  }
  if (h.plaintext_length > kMaxPlaintextLength) {
    return absl::InvalidArgumentError("plaintext length is over 2^60");
  }
  if (h.metadata.flattened_size &&
      (h.prefix_length != 0 ||
       *h.metadata.flattened_size > kMaxPlaintextLength)) {
    return absl::InvalidArgumentError(
        "a flattened layout with a prefix or over 2^60 bytes");
  }
  if (h.slots.empty()) return absl::InvalidArgumentError("no key slot");
  if (h.slots.size() > kMaxSlots) {
    return absl::InvalidArgumentError(
        absl::StrCat("more than ", kMaxSlots, " key slots"));
  }
  const DumpMetadata& m = h.metadata;
  for (auto [name, value] :
       {std::pair<absl::string_view, absl::string_view>{"world", m.world},
        {"host", m.host},
        {"VM name", m.vm_name},
        {"VM uuid", m.vm_uuid},
        {"original name", m.original_name},
        {"executable", m.executable},
        {"command line", m.command_line},
        {"cgroup", m.cgroup},
        {"unit", m.unit}}) {
    DC_RETURN_IF_ERROR(ValidateText(name, value, 0, kMaxMetadataTextSize));
  }

  return absl::OkStatus();
}

void PutRecord(ByteWriter& w, uint16_t type, absl::string_view value) {
  w.U16(type);
  w.U16(static_cast<uint16_t>(value.size()));
  w.Str(value);
}

}  // namespace

absl::string_view DumpTypeName(DumpType type) {
  switch (type) {
    case DumpType::kVmkernel:
      return "vmkernel";
    case DumpType::kUserworld:
      return "userworld";
    case DumpType::kVm:
      return "vm";
    case DumpType::kOther:
      break;
  }
  return "other";
}

absl::StatusOr<DumpType> ParseDumpType(absl::string_view name) {
  for (DumpType t : {DumpType::kOther, DumpType::kVmkernel,
                     DumpType::kUserworld, DumpType::kVm}) {
    if (name == DumpTypeName(t)) return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown dump type '", name, "' (vmkernel, userworld, vm, other)"));
}

const KeyRef& EnvelopeHeader::primary_key() const {
  static const KeyRef* const kNone = new KeyRef;
  for (const KeySlot& slot : slots) {
    if (slot.kind == kSlotProviderKey) return slot.ref;
  }
  return *kNone;
}

bool HasEnvelopeMagic(absl::Span<const uint8_t> bytes) {
  return bytes.size() >= kEnvelopeMagic.size() &&
         std::equal(kEnvelopeMagic.begin(), kEnvelopeMagic.end(),
                    bytes.begin());
}

absl::StatusOr<uint32_t> HeaderLengthFromFixed(
    absl::Span<const uint8_t> fixed) {
  if (!HasEnvelopeMagic(fixed)) {
    return absl::FailedPreconditionError("not a dumpcrypt envelope");
  }
  if (fixed.size() < kFixedHeaderSize) {
    return absl::DataLossError("header is truncated");
  }
  ByteReader r(fixed.subspan(8));
  uint16_t version = r.U16();
  r.U16();
  uint32_t length = r.U32();
  if (version != kFormatVersion) {
    return absl::UnimplementedError(
        absl::StrCat("envelope version ", version, " is not supported"));
  }
  if (length < kFixedHeaderSize + kHeaderTagSize || length > kMaxHeaderSize) {
    return absl::DataLossError(
        absl::StrCat("header length ", length, " is impossible"));
  }
  return length;
}

absl::StatusOr<std::vector<uint8_t>> EncodeHeader(EnvelopeHeader* h) {
  DC_RETURN_IF_ERROR(CheckLayout(*h));
  const DumpMetadata& m = h->metadata;
  ByteWriter w;
  w.Bytes(kEnvelopeMagic);
  w.U16(kFormatVersion);
  w.U16(h->integrity ? kFlagIntegrity : 0);
  w.U32(0);  // header_length, patched below
  w.U8(kCipherAes256Xts);
  w.U8(static_cast<uint8_t>(SectorShift(h->sector_size)));
  w.U16(0);
  w.U32(h->prefix_length);
  w.U64(h->data_offset);
  w.U64(h->plaintext_length);
  w.Bytes(h->file_id);
  w.U64(0);
  for (const KeySlot& slot : h->slots) {
    DC_ASSIGN_OR_RETURN(std::vector<uint8_t> value, EncodeSlot(slot));
    w.U16(kRecordKeySlot);
    w.U16(static_cast<uint16_t>(value.size()));
    w.Bytes(value);
  }
  // Records that would say what their absence says are left out, so a header
  // read from any writer re-encodes no larger than it was.
  if (m.type != DumpType::kOther) {
    w.U16(kRecordDumpType);
    w.U16(1);
    w.U8(static_cast<uint8_t>(m.type));
  }
  if (m.created_unix != 0) {
    w.U16(kRecordCreated);
    w.U16(8);
    w.U64(static_cast<uint64_t>(m.created_unix));
  }
  if (!m.world.empty()) PutRecord(w, kRecordWorld, m.world);
  if (!m.host.empty()) PutRecord(w, kRecordHost, m.host);
  if (!m.vm_name.empty()) PutRecord(w, kRecordVmName, m.vm_name);
  if (!m.vm_uuid.empty()) PutRecord(w, kRecordVmUuid, m.vm_uuid);
  if (!m.original_name.empty()) {
    PutRecord(w, kRecordOriginalName, m.original_name);
  }
  if (m.flattened_size) {
    w.U16(kRecordLayout);
    w.U16(kLayoutRecordSize - 4);
    w.U8(kLayoutFlattened);
    w.U64(*m.flattened_size);
  }
  if (m.process) {
    w.U16(kRecordProcess);
    w.U16(16);
    for (uint32_t id :
         {m.process->pid, m.process->uid, m.process->gid, m.process->signal}) {
      w.U32(id);
    }
  }
  if (!m.executable.empty()) PutRecord(w, kRecordExecutable, m.executable);
  if (!m.command_line.empty()) {
    PutRecord(w, kRecordCommandLine, m.command_line);
  }
  if (!m.cgroup.empty()) PutRecord(w, kRecordCgroup, m.cgroup);
  if (!m.unit.empty()) PutRecord(w, kRecordUnit, m.unit);
  if (m.truncated) {
    w.U16(kRecordInputState);
    w.U16(1);
    w.U8(kInputTruncated);
  }
  if (w.size() + kHeaderTagSize > kMaxHeaderSize) {
    return absl::InvalidArgumentError("header is over 1 MiB");
  }
  h->header_length = static_cast<uint32_t>(w.size() + kHeaderTagSize);
  if (h->data_offset < uint64_t{h->header_length} + h->prefix_length) {
    return absl::InvalidArgumentError("data offset overlaps header or prefix");
  }
  std::vector<uint8_t>& out = w.out();
  for (int i = 0; i < 4; ++i) {
    out[12 + i] = static_cast<uint8_t>(h->header_length >> (8 * i));
  }
  return std::move(out);
}

absl::StatusOr<EnvelopeHeader> ParseHeader(absl::Span<const uint8_t> bytes) {
  DC_ASSIGN_OR_RETURN(uint32_t length, HeaderLengthFromFixed(bytes));
  if (bytes.size() != length) {
    return absl::DataLossError("header is truncated");
  }
  EnvelopeHeader h;
  h.header_length = length;
  h.raw.assign(bytes.begin(), bytes.end());
  ByteReader r(bytes.subspan(8, length - 8 - kHeaderTagSize));
  h.version = r.U16();
  uint16_t flags = r.U16();
  r.U32();
  uint8_t cipher = r.U8();
  uint8_t shift = r.U8();
  uint16_t reserved16 = r.U16();
  h.prefix_length = r.U32();
  h.data_offset = r.U64();
  h.plaintext_length = r.U64();
  auto id = r.Bytes(16);
  std::copy(id.begin(), id.end(), h.file_id.begin());
  uint64_t reserved64 = r.U64();
  if (flags & ~kFlagIntegrity) {
    return absl::UnimplementedError(
        absl::StrFormat("unknown header flags 0x%04x", flags));
  }
  h.integrity = (flags & kFlagIntegrity) != 0;
  if (cipher != kCipherAes256Xts) {
    return absl::UnimplementedError(absl::StrCat("unknown cipher ", cipher));
  }
  if (shift < 9 || shift > 16) {
    return absl::DataLossError(
        absl::StrCat("sector shift ", shift, " is impossible"));
  }
  h.sector_size = 1u << shift;
  if (reserved16 != 0 || reserved64 != 0) {
    return absl::DataLossError("reserved header bytes are not zero");
  }
  bool seen_type = false, seen_created = false;
  while (!r.done() && !r.failed()) {
    uint16_t type = r.U16();
    uint16_t len = r.U16();
    auto value = r.Bytes(len);
    if (r.failed()) break;
    ByteReader v(value);
    std::string* text = nullptr;
    switch (type) {
      case kRecordKeySlot: {
        if (h.slots.size() == kMaxSlots) {
          return absl::DataLossError(
              absl::StrCat("more than ", kMaxSlots, " key slots"));
        }
        DC_ASSIGN_OR_RETURN(KeySlot slot, ParseSlot(value));
        h.slots.push_back(std::move(slot));
        continue;
      }
      case kRecordDumpType: {
        uint8_t t = v.U8();
        if (len != 1 || t > static_cast<uint8_t>(DumpType::kVm) || seen_type) {
          return absl::DataLossError("dump type record is malformed");
        }
        h.metadata.type = static_cast<DumpType>(t);
        seen_type = true;
        continue;
      }
      case kRecordCreated:
        if (len != 8 || seen_created) {
          return absl::DataLossError("creation time record is malformed");
        }
        h.metadata.created_unix = static_cast<int64_t>(v.U64());
        seen_created = true;
        continue;
      case kRecordWorld:
        text = &h.metadata.world;
        break;
      case kRecordHost:
        text = &h.metadata.host;
        break;
      case kRecordVmName:
        text = &h.metadata.vm_name;
        break;
      case kRecordVmUuid:
        text = &h.metadata.vm_uuid;
        break;
      case kRecordOriginalName:
        text = &h.metadata.original_name;
        break;
      case kRecordInputState:
        if (len != 1 || v.U8() != kInputTruncated || h.metadata.truncated) {
          return absl::DataLossError("input state record is malformed");
        }
        h.metadata.truncated = true;
        continue;
      case kRecordLayout: {
        const uint8_t kind = v.U8();
        if (len != kLayoutRecordSize - 4 || h.metadata.flattened_size) {
          return absl::DataLossError("layout record is malformed");
        }
        if (kind != kLayoutFlattened) {
          return absl::UnimplementedError(
              absl::StrCat("unknown layout kind ", kind));
        }
        h.metadata.flattened_size = v.U64();
        continue;
      }
      case kRecordProcess:
        if (len != 16 || h.metadata.process) {
          return absl::DataLossError("process record is malformed");
        }
        h.metadata.process = ProcessIds{v.U32(), v.U32(), v.U32(), v.U32()};
        continue;
      case kRecordExecutable:
        text = &h.metadata.executable;
        break;
      case kRecordCommandLine:
        text = &h.metadata.command_line;
        break;
      case kRecordCgroup:
        text = &h.metadata.cgroup;
        break;
      case kRecordUnit:
        text = &h.metadata.unit;
        break;
      default:
        if (type & 0x8000) continue;
        return absl::UnimplementedError(
            absl::StrFormat("unknown required header record 0x%04x", type));
    }
    if (!text->empty() || len == 0) {
      return absl::DataLossError(
          absl::StrFormat("header record 0x%04x is repeated or empty", type));
    }
    *text = v.Str(len);
  }
  if (r.failed()) return absl::DataLossError("header records are truncated");
  absl::Status layout = CheckLayout(h);
  if (!layout.ok()) return absl::DataLossError(layout.message());
  if (h.data_offset < uint64_t{h.header_length} + h.prefix_length ||
      h.data_offset > kMaxPlaintextLength) {
    return absl::DataLossError("data offset overlaps header or prefix");
  }
  return h;
}

absl::StatusOr<EnvelopeHeader> ReadHeader(int fd, uint64_t base) {
  uint8_t fixed[kFixedHeaderSize];
  DC_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, absl::MakeSpan(fixed), base));
  DC_ASSIGN_OR_RETURN(uint32_t length,
                      HeaderLengthFromFixed(absl::MakeConstSpan(fixed, got)));
  std::vector<uint8_t> bytes(length);
  DC_ASSIGN_OR_RETURN(got, PreadFull(fd, absl::MakeSpan(bytes), base));
  if (got != length) return absl::DataLossError("header is truncated");
  return ParseHeader(bytes);
}

}  // namespace dumpcrypt
