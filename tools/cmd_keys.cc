// dumpcrypt keys: which keys the dumps (dumpcrypt envelopes and VMware .ve
// files) under some folders need, and whether they can be had now.
#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/envelope_opener.h"
#include "kms/key_cache.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

std::string Availability(const absl::Status& status) {
  switch (KeySourceCode(status)) {
    case absl::StatusCode::kOk:
      return "available";
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return "provider unreachable";
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    case absl::StatusCode::kUnauthenticated:
      return "wrong key";
    default:
      return "unusable";
  }
}

// NamedLikeAnEnvelope: `path` ends with a format's suffix (".dce", ".ve").
bool NamedLikeAnEnvelope(const std::string& path) {
  for (const EnvelopeFormat* format : EnvelopeFormats()) {
    if (absl::EndsWith(path, format->suffix())) return true;
  }
  return false;
}

struct Flags {
  KeySourceFlags keys;
  bool json = false;
  std::vector<std::string> paths;
};

struct Dump {
  std::string path;
  std::shared_ptr<const Envelope> envelope;
  std::string key;      // the key it is listed under: Envelope::key_label
  KeyRef ref;           // its key reference, if that key has one
  absl::Status status;  // whether the key can be had and opens this file
};

int RunKeys(const Flags& f) {
  const std::string cmd = "keys";
  auto resolver = f.keys.MakeResolver();
  if (!resolver.ok()) return Fail(cmd, resolver.status(), true);
  KeyCache keys(std::move(resolver).value(), KeyCache::Options());
  std::vector<Dump> dumps;
  std::vector<std::pair<std::string, absl::Status>> unread;
  const NotRead not_read = [&](const std::string& path,
                               const absl::Status& cause) {
    unread.emplace_back(path, cause);
    Fail(cmd, Prefix(cause, path));
  };
  const FileVisitor probe = [&](const std::string& path, bool named) {
    absl::StatusOr<std::shared_ptr<const Envelope>> envelope =
        ProbeFile(path, {});
    if (envelope.ok()) {
      const std::vector<KeyRef> refs = (*envelope)->key_refs();
      dumps.push_back({path,
                       *envelope,
                       (*envelope)->key_label(),
                       refs.empty() ? KeyRef{} : refs.front(),
                       {}});
    } else if (named || !absl::IsInvalidArgument(envelope.status())) {
      not_read(path, envelope.status());
    } else if (NamedLikeAnEnvelope(path)) {
      not_read(path, absl::DataLossError(
                         "named like an envelope, but no format recognises "
                         "it: a damaged dump?"));
    }
  };
  ForEachFile(f.paths, probe, not_read);
  std::map<std::string, std::pair<KeyRef, absl::Status>> results;
  for (Dump& d : dumps) {
    d.status = d.envelope->CheckKey(keys);
    auto [it, added] = results.try_emplace(d.key, d.ref, absl::OkStatus());
    if (it->second.second.ok()) it->second.second = d.status;
  }
  int missing = 0;
  for (const auto& [key, result] : results) missing += !result.second.ok();
  if (f.json) {
    nlohmann::json out = {{"dumps", nlohmann::json::array()},
                          {"keys", nlohmann::json::array()}};
    for (const Dump& d : dumps) {
      out["dumps"].push_back({{"file", d.path},
                              {"format", std::string(d.envelope->format())},
                              {"key", d.key},
                              {"provider", d.ref.provider},
                              {"key_id", d.ref.key_id},
                              {"status", Availability(d.status)}});
    }
    for (const auto& [key, result] : results) {
      const auto& [ref, status] = result;
      out["keys"].push_back({{"key", key},
                             {"provider", ref.provider},
                             {"key_id", ref.key_id},
                             {"status", Availability(status)},
                             {"cause", std::string(status.message())}});
    }
    out["not_read"] = nlohmann::json::array();
    for (const auto& [path, cause] : unread) {
      out["not_read"].push_back(
          {{"file", path}, {"cause", std::string(cause.message())}});
    }
    out["summary"] = {{"dumps", dumps.size()},
                      {"keys", results.size()},
                      {"missing", missing},
                      {"unreadable", unread.size()}};
    PrintJson(out);
  } else {
    for (const Dump& d : dumps) {
      const bool by_ref = !d.ref.key_id.empty();
      std::printf("%-20s  %-12s  %-38s  %s\n", Availability(d.status).c_str(),
                  by_ref ? d.ref.provider.c_str() : "-",
                  by_ref ? d.ref.key_id.c_str() : d.key.c_str(),
                  d.path.c_str());
    }
    for (const auto& [key, result] : results) {
      const absl::Status& status = result.second;
      if (status.ok()) continue;
      const std::string cause(status.message());
      std::fprintf(stderr, "%s\n",
                   absl::StartsWith(cause, key)
                       ? cause.c_str()
                       : absl::StrCat(key, ": ", cause).c_str());
    }
    std::printf("%zu dumps, %zu distinct keys, %d missing", dumps.size(),
                results.size(), missing);
    if (!unread.empty()) std::printf(", %zu files not read", unread.size());
    std::printf("\n");
  }
  if (missing > 0) return kExitNoKey;
  return unread.empty() ? kExitOk : kExitError;
}

}  // namespace

void AddKeysCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand(
      "keys",
      "list the dumps (dumpcrypt envelopes and VMware .ve files) in FILEs and "
      "under DIRs with their provider and keyID, and whether the key can be "
      "had now and opens them; fetches each distinct key once; exit 3 if any "
      "is missing or wrong, else 1 if a file could not be read");
  f->keys.Add(c);
  c->add_flag("--json", f->json,
              "print JSON (bytes of file names that are not UTF-8 are shown "
              "as U+FFFD)");
  c->add_option("PATH", f->paths,
                "dumps, or folders to search for them (recursively; "
                "symlinks inside are not followed)")
      ->required();
  c->callback([f, exit_code] { *exit_code = RunKeys(*f); });
}

}  // namespace dumpcrypt::cli
