// dumpcrypt describe: print an envelope's cleartext header; needs no key.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "crypto/file_io.h"
#include "crypto/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

std::string Hex(absl::Span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) absl::StrAppend(&out, absl::Hex(b, absl::kZeroPad2));
  return out;
}

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
      {"file_id", Hex(h.file_id)},
      {"provider", h.primary_key().provider},
      {"key_id", h.primary_key().key_id},
      {"key_slots", slots},
      {"dump",
       {{"type", std::string(DumpTypeName(m.type))},
        {"world", m.world},
        {"created", Rfc3339(m.created_unix)},
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
  line("created:", Rfc3339(m.created_unix));
  line("host:", m.host);
  line("vm:", m.vm_name.empty() ? m.vm_uuid
              : m.vm_uuid.empty()
                  ? m.vm_name
                  : absl::StrCat(m.vm_name, " (", m.vm_uuid, ")"));
  line("original name:", m.original_name);
  line("file id:", Hex(h.file_id));
  line("note:",
       "header fields are authenticated only when the file is opened with its "
       "key");
}

}  // namespace

void AddDescribeCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    bool json = false;
    std::vector<std::string> files;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand(
      "describe",
      "show an envelope's cleartext header: key reference, sizes, "
      "dump metadata (no key needed)");
  c->add_flag("--json", f->json,
              "print JSON (one object per file, in an array)");
  c->add_option("FILE", f->files, "envelopes to describe")->required();
  c->callback([f, exit_code] {
    nlohmann::json all = nlohmann::json::array();
    for (const std::string& path : f->files) {
      auto header = [&]() -> absl::StatusOr<EnvelopeHeader> {
        DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path));
        return ReadHeader(fd.get());
      }();
      if (!header.ok()) {
        *exit_code = Fail("describe", Prefix(header.status(), path));
        continue;
      }
      if (f->json) {
        all.push_back(ToJson(path, *header));
      } else {
        if (&path != &f->files.front()) std::printf("\n");
        PrintText(path, *header);
      }
    }
    if (f->json) std::printf("%s\n", all.dump(2).c_str());
  });
}

}  // namespace dumpcrypt::cli
