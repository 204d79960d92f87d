// dumpcrypt describe: print an envelope's cleartext header; needs no key.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "base/time_format.h"
#include "envelope/ve_envelope.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

nlohmann::json ToJson(const std::string& path, const EnvelopeHeader& h) {
  nlohmann::json slots = nlohmann::json::array();
  for (const KeySlot& s : h.slots) {
    slots.push_back(
        {{"kind", s.kind == kSlotProviderKey ? "provider-key" : "unknown"},
         {"provider", s.ref.provider},
         {"key_id", s.ref.key_id}});
  }
  const DumpMetadata& m = h.metadata;
  return {
      {"file", path},
      {"format", "dumpcrypt"},
      {"version", h.version},
      {"cipher", "AES-256-XTS"},
      {"sector_size", h.sector_size},
      {"integrity", h.integrity ? "aes-gmac-per-sector" : "none"},
      {"size", h.DecryptedSize()},
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
        {"original_name", m.original_name}}},
      {"authenticated", false},
  };
}

void PrintText(const std::string& path, const EnvelopeHeader& h) {
  const DumpMetadata& m = h.metadata;
  auto line = [](const char* name, const std::string& value) {
    if (!value.empty()) std::printf("%-15s %s\n", name, value.c_str());
  };
  line("file:", path);
  line("format:", absl::StrCat("dumpcrypt envelope v", h.version));
  line("cipher:",
       absl::StrCat("AES-256-XTS, ", h.sector_size, "-byte sectors"));
  line("integrity:", h.integrity ? "AES-GMAC tag per sector"
                                 : "none (sealed with --no-integrity)");
  line("size:",
       absl::StrCat(h.DecryptedSize(), " bytes decrypted (",
                    HumanBytes(h.DecryptedSize()),
                    h.prefix_length
                        ? absl::StrCat("; first ", h.prefix_length, " in clear")
                        : "",
                    ")"));
  line("key:", absl::StrCat("provider '", h.primary_key().provider,
                            "', keyID '", h.primary_key().key_id, "'"));
  for (size_t i = 1; i < h.slots.size(); ++i) {
    line("also key:", absl::StrCat("provider '", h.slots[i].ref.provider,
                                   "', keyID '", h.slots[i].ref.key_id, "'"));
  }
  line("dump type:", std::string(DumpTypeName(m.type)));
  line("world:", m.world);
  line("created:", Rfc3339Unix(m.created_unix));
  line("host:", m.host);
  line("vm:", m.vm_name.empty() ? m.vm_uuid
              : m.vm_uuid.empty()
                  ? m.vm_name
                  : absl::StrCat(m.vm_name, " (", m.vm_uuid, ")"));
  line("original name:", m.original_name);
  line("file id:", HexEncode(h.file_id));
  line("note:",
       "header fields are authenticated only when the file is opened with its "
       "key");
}

nlohmann::json VeJson(const std::string& path, const VeHeader& h) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const VeAttribute& a : h.attributes) {
    attrs[a.name] =
        a.is_string()
            ? a.value
            : HexEncode({reinterpret_cast<const uint8_t*>(a.value.data()),
                         a.value.size()});
  }
  const KeyRef ref = VeKeyRef(h.Attribute("vmware.keyInfo"));
  return {{"file", path},
          {"format", "vmware-data-transform-envelope"},
          {"version", h.version},
          {"offset", h.offset},
          {"cipher", h.Attribute("vmware.cipherName")},
          {"key_info", h.Attribute("vmware.keyInfo")},
          {"key_id", ref.key_id},
          {"provider", ref.provider},
          {"attributes", attrs},
          {"header_size", 512 + h.size},
          {"data_size", h.ciphertext_length},
          {"payload_upper_bound", h.PayloadUpperBound()},
          {"footer_size", kVeBlock},
          {"footer_version", h.footer_version},
          {"tag_size", h.tag.size()}};
}

void PrintVe(const nlohmann::json& j) {
  auto line = [](const char* name, const std::string& value) {
    if (!value.empty()) std::printf("%-15s %s\n", name, value.c_str());
  };
  line("file:", j["file"]);
  line("format:",
       absl::StrCat(
           "VMware DataTransformEnvelope v", j["version"].get<int>(),
           j["offset"].get<uint64_t>()
               ? absl::StrCat(" at offset ", j["offset"].get<uint64_t>())
               : ""));
  line("cipher:", j["cipher"]);
  line("key:",
       absl::StrCat("keyID '", j["key_id"].get<std::string>(), "'",
                    j["provider"].get<std::string>().empty()
                        ? ""
                        : absl::StrCat(", provider '",
                                       j["provider"].get<std::string>(), "'")));
  for (const auto& [name, value] : j["attributes"].items())
    line((name + ":").c_str(), value.get<std::string>());
  line("data:", absl::StrCat(j["data_size"].get<uint64_t>(),
                             " bytes encrypted; payload at most ",
                             j["payload_upper_bound"].get<uint64_t>(),
                             " (exact once decrypted)"));
  line("footer:",
       absl::StrCat(j["footer_size"].get<uint64_t>(), " bytes, AEAD footer v",
                    j["footer_version"].get<int>(), ", ",
                    j["tag_size"].get<size_t>(), "-byte tag"));
}

}  // namespace

void AddDescribeCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    bool json = false;
    std::optional<uint64_t> offset;
    std::vector<std::string> files;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand(
      "describe",
      "show an envelope's cleartext header: key reference, sizes, "
      "dump metadata (no key needed)");
  c->add_flag("--json", f->json,
              "print JSON (one object per file, in an array; bytes that "
              "are not UTF-8 are shown as U+FFFD)");
  c->add_option("--offset", f->offset,
                "VMware .ve: where the envelope starts (default: 0 or 4096)")
      ->check(ByteOffset());
  c->add_option("FILE", f->files,
                "envelopes to describe (dumpcrypt or VMware .ve)")
      ->required()
      ->check(AFile());
  c->callback([f, exit_code] {
    nlohmann::json all = nlohmann::json::array();
    for (const std::string& path : f->files) {
      auto fd = OpenReadOnly(path);
      if (!fd.ok()) {
        *exit_code = Fail("describe", Prefix(fd.status(), path));
        continue;
      }
      absl::StatusOr<AnyHeader> any = ReadAnyHeader(fd->get(), f->offset);
      if (!any.ok()) {
        *exit_code = Fail("describe", Prefix(any.status(), path));
        continue;
      }
      if (f->json) {
        all.push_back(any->vmware ? VeJson(path, *any->vmware)
                                  : ToJson(path, *any->dumpcrypt));
        continue;
      }
      if (&path != &f->files.front()) std::printf("\n");
      if (any->vmware) {
        PrintVe(VeJson(path, *any->vmware));
      } else {
        PrintText(path, *any->dumpcrypt);
      }
    }
    if (f->json) PrintJson(all);
  });
}

}  // namespace dumpcrypt::cli
