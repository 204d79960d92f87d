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

struct Flags {
  KeySourceFlags keys;
  bool json = false;
  std::vector<std::string> paths;
};

struct Dump {
  std::string path;
  std::shared_ptr<const Envelope> envelope;
  KeyRef ref;           // the one it is listed under
  absl::Status status;  // whether the key can be had and opens this file
};

using NotRead = std::function<void(const std::string&, const absl::Status&)>;

absl::Status FromErrorCode(const std::error_code& ec) {
  return absl::UnknownError(ec.message());
}

// Walk calls `file` for each regular file under `dir`, in name order, and
// `fail` for each folder it cannot list, and goes on. Symlinks are not
// followed, as in the mount.
void Walk(const std::filesystem::path& dir,
          const std::function<void(const std::string&)>& file,
          const NotRead& fail) {
  std::vector<std::filesystem::directory_entry> entries;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) return fail(dir.string(), FromErrorCode(ec));
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    const std::filesystem::file_type type = entry.symlink_status(ec).type();
    if (type == std::filesystem::file_type::regular) {
      file(entry.path().string());
    } else if (type == std::filesystem::file_type::directory) {
      Walk(entry.path(), file, fail);
    }
  }
}

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
  auto probe = [&](const std::string& path, bool named) {
    absl::StatusOr<std::shared_ptr<const Envelope>> envelope =
        ProbeFile(path, {});
    if (envelope.ok()) {
      dumps.push_back({path, *envelope, (*envelope)->key_refs().front(), {}});
    } else if (named || !absl::IsInvalidArgument(envelope.status())) {
      not_read(path, envelope.status());
    }
  };
  for (const std::string& path : f.paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      if (std::filesystem::is_regular_file(path, ec)) {
        probe(path, true);
      } else {
        not_read(path, ec ? FromErrorCode(ec)
                          : absl::InvalidArgumentError(
                                "neither a folder nor a file"));
      }
      continue;
    }
    Walk(
        path, [&](const std::string& file) { probe(file, false); }, not_read);
  }
  std::map<std::pair<std::string, std::string>, absl::Status> results;
  for (Dump& d : dumps) {
    d.status = d.envelope->CheckKey(keys);
    auto [it, added] = results.try_emplace({d.ref.provider, d.ref.key_id});
    if (it->second.ok()) it->second = d.status;
  }
  int missing = 0;
  for (const auto& [key, status] : results) missing += !status.ok();
  if (f.json) {
    nlohmann::json out = {{"dumps", nlohmann::json::array()},
                          {"keys", nlohmann::json::array()}};
    for (const Dump& d : dumps) {
      out["dumps"].push_back({{"file", d.path},
                              {"format", std::string(d.envelope->format())},
                              {"provider", d.ref.provider},
                              {"key_id", d.ref.key_id},
                              {"status", Availability(d.status)}});
    }
    for (const auto& [key, status] : results) {
      out["keys"].push_back({{"provider", key.first},
                             {"key_id", key.second},
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
      std::printf("%-20s  %-12s  %-38s  %s\n", Availability(d.status).c_str(),
                  d.ref.provider.c_str(), d.ref.key_id.c_str(), d.path.c_str());
    }
    for (const auto& [key, status] : results) {
      if (status.ok()) continue;
      const std::string ref = KeyRefString({key.first, key.second});
      const std::string cause(status.message());
      std::fprintf(stderr, "%s\n",
                   absl::StartsWith(cause, ref)
                       ? cause.c_str()
                       : absl::StrCat(ref, ": ", cause).c_str());
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
