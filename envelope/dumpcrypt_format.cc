// The dumpcrypt envelope v1 (docs/FORMAT.md) behind the EnvelopeFormat
// interface.
#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "base/time_format.h"
#include "envelope/envelope.h"
#include "envelope/envelope_format.h"
#include "envelope/envelope_opener.h"
#include "envelope/envelope_reader.h"
#include "envelope/flattened_view.h"
#include "nlohmann/json.hpp"

namespace dumpcrypt {
namespace {

std::string SlotDetail(const KeySlot& slot) {
  if (slot.kind != kSlotPassword) return SlotLabel(slot);
  const Argon2Cost& c = slot.password.cost;
  return absl::StrCat("password (Argon2id, ",
                      HumanBytes(uint64_t{c.memory_kib} << 10), ", ", c.time,
                      c.time == 1 ? " pass, " : " passes, ", c.lanes,
                      c.lanes == 1 ? " lane)" : " lanes)");
}

nlohmann::json SlotJson(const KeySlot& s) {
  switch (s.kind) {
    case kSlotProviderKey:
      return {{"kind", "provider-key"},
              {"provider", s.ref.provider},
              {"key_id", s.ref.key_id}};
    case kSlotPassword:
      return {{"kind", "password"},
              {"kdf", "argon2id"},
              {"memory_kib", s.password.cost.memory_kib},
              {"passes", s.password.cost.time},
              {"lanes", s.password.cost.lanes}};
    case kSlotX25519:
    case kSlotRsaOaep:
      return {{"kind", s.kind == kSlotX25519 ? "x25519" : "rsa-oaep"},
              {"fingerprint", FingerprintText(s.recipient)}};
    default:
      return {{"kind", "unknown"}, {"code", s.kind}};
  }
}

class DumpcryptEnvelope final : public Envelope {
 public:
  DumpcryptEnvelope(EnvelopeHeader header, const ProbeOptions& where)
      : header_(std::move(header)),
        base_(where.offset.value_or(0)),
        length_(where.length) {}

  absl::string_view format() const override { return "dumpcrypt"; }

  std::vector<KeyRef> key_refs() const override {
    std::vector<KeyRef> refs;
    for (const KeySlot& slot : header_.slots) {
      if (slot.kind == kSlotProviderKey) refs.push_back(slot.ref);
    }
    return refs;
  }

  std::string key_label() const override {
    for (const KeySlot& slot : header_.slots) {
      if (slot.known()) return SlotLabel(slot);
    }
    return SlotLabel(header_.slots.front());
  }

  uint64_t shown_size() const override {
    return header_.metadata.flattened_size.value_or(header_.DecryptedSize());
  }

  std::vector<Attribute> Attributes() const override {
    const DumpMetadata& m = header_.metadata;
    std::vector<Attribute> out = {
        {"key_id", header_.primary_key().key_id},
        {"provider", header_.primary_key().provider},
        {"type", std::string(DumpTypeName(m.type))},
        {"world", m.world},
        {"created", Rfc3339Unix(m.created_unix)},
        {"host", m.host},
        {"vm", m.vm_name},
        {"vm_uuid", m.vm_uuid},
        {"sector_size", absl::StrCat(header_.sector_size)},
        {"integrity", header_.integrity ? "aes-gmac" : "none"},
        {"slots", absl::StrJoin(header_.slots, "; ",
                                [](std::string* out, const KeySlot& s) {
                                  out->append(SlotLabel(s));
                                })}};
    if (m.truncated) out.push_back({"input", "truncated"});
    if (m.flattened_size) out.push_back({"layout", "makedumpfile-flattened"});
    if (m.process) {
      out.insert(out.end(), {{"pid", absl::StrCat(m.process->pid)},
                             {"uid", absl::StrCat(m.process->uid)},
                             {"gid", absl::StrCat(m.process->gid)},
                             {"signal", absl::StrCat(m.process->signal)}});
    }
    for (const Attribute& a :
         std::initializer_list<Attribute>{{"executable", m.executable},
                                          {"command_line", m.command_line},
                                          {"cgroup", m.cgroup},
                                          {"unit", m.unit}}) {
      if (!a.value.empty()) out.push_back(a);
    }
    return out;
  }

  std::vector<Attribute> Describe() const override {
    const EnvelopeHeader& h = header_;
    const DumpMetadata& m = h.metadata;
    std::vector<Attribute> lines = {
        {"format", absl::StrCat("dumpcrypt envelope v", h.version)},
        {"cipher",
         absl::StrCat("AES-256-XTS, ", h.sector_size, "-byte sectors")},
        {"integrity", h.integrity ? "AES-GMAC tag per sector"
                                  : "none (sealed with --no-integrity)"},
        {"size", absl::StrCat(h.DecryptedSize(), " bytes decrypted (",
                              HumanBytes(h.DecryptedSize()),
                              h.prefix_length
                                  ? absl::StrCat("; first ", h.prefix_length,
                                                 " in clear")
                                  : "",
                              ")")}};
    for (const KeySlot& slot : h.slots) {
      lines.push_back({"key slot", SlotDetail(slot)});
    }
    const std::string vm = m.vm_name.empty() ? m.vm_uuid
                           : m.vm_uuid.empty()
                               ? m.vm_name
                               : absl::StrCat(m.vm_name, " (", m.vm_uuid, ")");
    lines.insert(
        lines.end(),
        {{"dump type", std::string(DumpTypeName(m.type))},
         {"world", m.world},
         {"created", Rfc3339Unix(m.created_unix)},
         {"host", m.host},
         {"vm", vm},
         {"original name", m.original_name},
         {"process",
          m.process ? absl::StrCat("pid ", m.process->pid, ", uid ",
                                   m.process->uid, ", gid ", m.process->gid,
                                   ", signal ", m.process->signal)
                    : ""},
         {"executable", m.executable},
         {"command line", m.command_line},
         {"cgroup", m.cgroup},
         {"unit", m.unit},
         {"layout",
          m.flattened_size
              ? absl::StrCat("a makedumpfile flattened stream of ",
                             h.plaintext_length,
                             " bytes, shown as the file it describes (",
                             *m.flattened_size,
                             " bytes, what makedumpfile -R would write)")
              : ""},
         {"input", m.truncated ? "TRUNCATED: the input ended before "
                                 "the data its own headers name"
                               : ""},
         {"file id", HexEncode(h.file_id)},
         {"note",
          "header fields are authenticated only when the file is "
          "opened with its key"}});
    return lines;
  }

  nlohmann::json DescribeJson() const override {
    const EnvelopeHeader& h = header_;
    nlohmann::json slots = nlohmann::json::array();
    for (const KeySlot& s : h.slots) slots.push_back(SlotJson(s));
    const DumpMetadata& m = h.metadata;
    return {
        {"format", "dumpcrypt"},
        {"version", h.version},
        {"cipher", "AES-256-XTS"},
        {"sector_size", h.sector_size},
        {"integrity", h.integrity ? "aes-gmac-per-sector" : "none"},
        {"size", shown_size()},
        {"layout", m.flattened_size ? nlohmann::json("makedumpfile-flattened")
                                    : nlohmann::json(nullptr)},
        {"prefix_length", h.prefix_length},
        {"plaintext_length", h.plaintext_length},
        {"data_offset", h.data_offset},
        {"file_id", HexEncode(h.file_id)},
        {"provider", h.primary_key().provider},
        {"key_id", h.primary_key().key_id},
        {"key_slots", slots},
        {"dump",
         {{"type", std::string(DumpTypeName(m.type))},
          {"world", m.world},
          {"created", Rfc3339Unix(m.created_unix)},
          {"host", m.host},
          {"vm_name", m.vm_name},
          {"vm_uuid", m.vm_uuid},
          {"original_name", m.original_name},
          {"truncated", m.truncated},
          {"process", ProcessJson(m)}}},
        {"authenticated", false}};
  }

  static nlohmann::json ProcessJson(const DumpMetadata& m) {
    if (!m.process && m.executable.empty() && m.command_line.empty() &&
        m.cgroup.empty() && m.unit.empty()) {
      return nullptr;
    }
    nlohmann::json j = {{"executable", m.executable},
                        {"command_line", m.command_line},
                        {"cgroup", m.cgroup},
                        {"unit", m.unit}};
    if (m.process) {
      j.update({{"pid", m.process->pid},
                {"uid", m.process->uid},
                {"gid", m.process->gid},
                {"signal", m.process->signal}});
    }
    return j;
  }

  absl::Status CheckKey(KeyResolver& keys) const override {
    return UnlockDataKey(header_, keys).status();
  }

  absl::StatusOr<std::unique_ptr<EnvelopeView>> Open(
      UniqueFd fd, KeyResolver& keys, const OpenPolicy&) const override {
    absl::StatusOr<EnvelopeHeader> header = ReadHeader(fd.get(), base_);
    if (absl::IsFailedPrecondition(header.status()))
      return absl::AbortedError("no longer an envelope");
    if (!header.ok()) return header.status();
    DC_ASSIGN_OR_RETURN(SecretBytes data_key, UnlockDataKey(*header, keys));
    const std::optional<uint64_t> flattened = header->metadata.flattened_size;
    DC_ASSIGN_OR_RETURN(std::unique_ptr<EnvelopeView> view,
                        EnvelopeReader::Open(std::move(fd), *std::move(header),
                                             data_key, base_, length_));
    if (!flattened) return view;
    return OpenFlattened(std::move(view), *flattened);
  }

 private:
  const EnvelopeHeader header_;
  const uint64_t base_;
  const std::optional<uint64_t> length_;
};

class DumpcryptFormat final : public EnvelopeFormat {
 public:
  absl::string_view name() const override { return "dumpcrypt"; }
  absl::string_view suffix() const override { return ".dce"; }

  bool HasMagic(int fd) const override {
    uint8_t head[kEnvelopeMagic.size()];
    absl::StatusOr<size_t> got = PreadFull(fd, absl::MakeSpan(head), 0);
    return got.ok() && HasEnvelopeMagic(absl::MakeConstSpan(head, *got));
  }

  absl::StatusOr<std::unique_ptr<const Envelope>> Probe(
      int fd, const ProbeOptions& options) const override {
    absl::StatusOr<EnvelopeHeader> header =
        ReadHeader(fd, options.offset.value_or(0));
    if (absl::IsFailedPrecondition(header.status())) return nullptr;
    if (!header.ok()) return header.status();
    return std::make_unique<DumpcryptEnvelope>(*std::move(header), options);
  }
};

}  // namespace

const EnvelopeFormat& DumpcryptEnvelopeFormat() {
  static const DumpcryptFormat* const format = new DumpcryptFormat;
  return *format;
}

}  // namespace dumpcrypt
