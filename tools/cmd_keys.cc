// dumpcrypt keys: which keys the dumps under some folders need, and which of
// them can be had now.
#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "crypto/file_io.h"
#include "kms/envelope_opener.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

std::string Availability(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "available";
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kUnavailable:
      return "provider unreachable";
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    default:
      return "unusable";
  }
}

struct Flags {
  KeySourceFlags keys;
  bool json = false;
  std::vector<std::string> dirs;
};

int RunKeys(const Flags& f) {
  const std::string cmd = "keys";
  auto resolver = f.keys.MakeResolver();
  if (!resolver.ok()) return Fail(cmd, resolver.status(), true);
  struct Dump {
    std::string path;
    KeyRef ref;
  };
  std::vector<Dump> dumps;
  for (const std::string& dir : f.dirs) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto fd = OpenReadOnly(it->path().string());
      if (!fd.ok()) continue;
      auto header = ReadHeader(fd->get());
      if (header.ok())
        dumps.push_back({it->path().string(), header->primary_key()});
    }
    if (ec) return Fail(cmd, ErrnoStatus(ec.value(), dir));
  }
  std::map<std::pair<std::string, std::string>, absl::Status> results;
  for (const Dump& d : dumps) {
    auto key = std::make_pair(d.ref.provider, d.ref.key_id);
    if (!results.count(key))
      results[key] = (*resolver)->Resolve(d.ref).status();
  }
  int missing = 0;
  for (const auto& [key, status] : results) missing += !status.ok();
  if (f.json) {
    nlohmann::json out = {{"dumps", nlohmann::json::array()},
                          {"keys", nlohmann::json::array()}};
    for (const Dump& d : dumps) {
      out["dumps"].push_back(
          {{"file", d.path},
           {"provider", d.ref.provider},
           {"key_id", d.ref.key_id},
           {"status", Availability(results[{d.ref.provider, d.ref.key_id}])}});
    }
    for (const auto& [key, status] : results) {
      out["keys"].push_back({{"provider", key.first},
                             {"key_id", key.second},
                             {"status", Availability(status)},
                             {"cause", std::string(status.message())}});
    }
    out["summary"] = {{"dumps", dumps.size()},
                      {"keys", results.size()},
                      {"missing", missing}};
    PrintJson(out);
  } else {
    for (const Dump& d : dumps) {
      std::printf("%-20s  %-12s  %-38s  %s\n",
                  Availability(results[{d.ref.provider, d.ref.key_id}]).c_str(),
                  d.ref.provider.c_str(), d.ref.key_id.c_str(), d.path.c_str());
    }
    for (const auto& [key, status] : results) {
      if (!status.ok()) {
        std::fprintf(stderr, "%s: %s\n",
                     KeyRefString({key.first, key.second}).c_str(),
                     std::string(status.message()).c_str());
      }
    }
    std::printf("%zu dumps, %zu distinct keys, %d missing\n", dumps.size(),
                results.size(), missing);
  }
  return missing > 0 ? kExitNoKey : kExitOk;
}

}  // namespace

void AddKeysCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand(
      "keys",
      "list the envelopes under DIRs with their provider and keyID and whether "
      "the key can be "
      "had now; fetches each distinct key once; exit 3 if any is missing");
  f->keys.Add(c);
  c->add_flag("--json", f->json,
              "print JSON (bytes of file names that are not UTF-8 are shown "
              "as U+FFFD)");
  c->add_option("DIR", f->dirs, "folders to search (recursively)")->required();
  c->callback([f, exit_code] { *exit_code = RunKeys(*f); });
}

}  // namespace dumpcrypt::cli
