// VMware ESXi .ve envelopes (ve_envelope.h) behind the EnvelopeFormat
// interface.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/envelope.h"
#include "envelope/envelope_opener.h"
#include "envelope/ve_envelope.h"
#include "nlohmann/json.hpp"

namespace dumpcrypt {
namespace {

class VmwareEnvelope final : public Envelope {
 public:
  explicit VmwareEnvelope(VeHeader header)
      : header_(std::move(header)),
        ref_(VeKeyRef(header_.Attribute("vmware.keyInfo"))) {}

  absl::string_view format() const override { return "vmware"; }
  std::vector<KeyRef> key_refs() const override { return {ref_}; }
  std::string key_label() const override { return KeyRefString(ref_); }
  uint64_t shown_size() const override {
    return header_.offset + header_.PayloadUpperBound();
  }
  bool size_exact() const override { return false; }
  bool has_file_tag() const override { return true; }

  std::vector<Attribute> Attributes() const override {
    return {{"key_id", ref_.key_id},
            {"provider", ref_.provider},
            {"type", "vmware"},
            {"integrity", header_.Attribute("vmware.cipherName")}};
  }

  std::vector<Attribute> Describe() const override {
    const VeHeader& h = header_;
    std::vector<Attribute> lines = {
        {"format",
         absl::StrCat("VMware DataTransformEnvelope v", h.version,
                      h.offset ? absl::StrCat(" at offset ", h.offset) : "")},
        {"cipher", h.Attribute("vmware.cipherName")},
        {"key",
         absl::StrCat("keyID '", ref_.key_id, "'",
                      ref_.provider.empty()
                          ? ""
                          : absl::StrCat(", provider '", ref_.provider, "'"))}};
    for (const VeAttribute& a : h.attributes)
      lines.push_back({a.name, AttributeText(a)});
    lines.push_back(
        {"data",
         absl::StrCat(h.ciphertext_length, " bytes encrypted; payload at most ",
                      h.PayloadUpperBound(), " (exact once decrypted)")});
    lines.push_back({"footer", absl::StrCat(kVeBlock, " bytes, AEAD footer v",
                                            h.footer_version, ", ",
                                            h.tag.size(), "-byte tag")});
    return lines;
  }

  nlohmann::json DescribeJson() const override {
    const VeHeader& h = header_;
    nlohmann::json attrs = nlohmann::json::object();
    for (const VeAttribute& a : h.attributes) attrs[a.name] = AttributeText(a);
    return {{"format", "vmware-data-transform-envelope"},
            {"version", h.version},
            {"offset", h.offset},
            {"cipher", h.Attribute("vmware.cipherName")},
            {"key_info", h.Attribute("vmware.keyInfo")},
            {"key_id", ref_.key_id},
            {"provider", ref_.provider},
            {"attributes", attrs},
            {"header_size", 512 + h.size},
            {"data_size", h.ciphertext_length},
            {"payload_upper_bound", h.PayloadUpperBound()},
            {"footer_size", kVeBlock},
            {"footer_version", h.footer_version},
            {"tag_size", h.tag.size()}};
  }

  absl::Status CheckKey(KeyResolver& keys) const override {
    absl::StatusOr<SecretBytes> key = Key(keys);
    if (!key.ok()) return key.status();
    absl::Status matches = CheckVeKey(header_, *key);
    if (matches.ok()) return matches;
    return absl::UnauthenticatedError(absl::StrCat(
        KeyRefString(ref_), ": the key does not match the file's keyHash"));
  }

  absl::StatusOr<std::unique_ptr<EnvelopeView>> Open(
      UniqueFd fd, KeyResolver& keys, const OpenPolicy& policy) const override {
    absl::StatusOr<VeHeader> header = ReadVeHeader(fd.get(), header_.offset);
    if (absl::IsFailedPrecondition(header.status()))
      return absl::AbortedError("no longer an envelope");
    if (!header.ok()) return header.status();
    DC_ASSIGN_OR_RETURN(SecretBytes key, Key(keys));
    absl::StatusOr<std::unique_ptr<VeReader>> reader =
        VeReader::Open(std::move(fd), *std::move(header), key, policy);
    if (absl::IsUnauthenticated(reader.status()))
      return Prefix(reader.status(), KeyRefString(ref_));
    if (!reader.ok()) return reader.status();
    return std::unique_ptr<EnvelopeView>(std::move(reader).value());
  }

 private:
  static std::string AttributeText(const VeAttribute& a) {
    if (a.is_string()) return a.value;
    return HexEncode(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(a.value.data()), a.value.size()));
  }

  absl::StatusOr<SecretBytes> Key(KeyResolver& keys) const {
    absl::StatusOr<SecretBytes> key = keys.Resolve(ref_);
    if (!key.ok())
      return Prefix(AsKeyFailure(key.status()), KeyRefString(ref_));
    return key;
  }

  const VeHeader header_;
  const KeyRef ref_;
};

class VmwareFormat final : public EnvelopeFormat {
 public:
  absl::string_view name() const override { return "vmware"; }
  absl::string_view suffix() const override { return ".ve"; }

  bool HasMagic(int fd) const override {
    uint8_t head[sizeof(kVeMagic)];
    for (uint64_t at : {uint64_t{0}, kVeBlock}) {
      absl::StatusOr<size_t> got = PreadFull(fd, absl::MakeSpan(head), at);
      if (got.ok() && *got == sizeof(head) &&
          std::memcmp(head, kVeMagic, sizeof(head)) == 0) {
        return true;
      }
    }
    return false;
  }

  absl::StatusOr<std::unique_ptr<const Envelope>> Probe(
      int fd, const ProbeOptions& options) const override {
    if (options.length.has_value()) return nullptr;  // not read inside a tar
    absl::StatusOr<VeHeader> header = ReadVeHeader(fd, options.offset);
    if (absl::IsFailedPrecondition(header.status())) return nullptr;
    if (!header.ok()) return header.status();
    return std::make_unique<VmwareEnvelope>(*std::move(header));
  }
};

}  // namespace

const EnvelopeFormat& VmwareEnvelopeFormat() {
  static const VmwareFormat* const format = new VmwareFormat;
  return *format;
}

}  // namespace dumpcrypt
