// dumpcrypt describe: print an envelope's cleartext header; needs no key.
#include <cstdio>

#include "base/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {

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
    bool first = true;
    for (const std::string& path : f->files) {
      ProbeOptions where;
      where.offset = f->offset;
      auto envelope = ProbeFile(path, where);
      if (!envelope.ok()) {
        *exit_code = FailByCause("describe", Prefix(envelope.status(), path));
        continue;
      }
      if (f->json) {
        nlohmann::json j = (*envelope)->DescribeJson();
        j["file"] = path;
        all.push_back(std::move(j));
        continue;
      }
      if (!first) std::printf("\n");
      first = false;
      std::printf("%-15s %s\n", "file:", path.c_str());
      for (const Attribute& line : (*envelope)->Describe()) {
        if (line.value.empty()) continue;
        std::printf("%-15s %s\n", (line.name + ":").c_str(),
                    line.value.c_str());
      }
    }
    if (f->json) PrintJson(all);
  });
}

}  // namespace dumpcrypt::cli
