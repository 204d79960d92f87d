// dumpcrypt list: the sealed dumps of a folder, as `coredumpctl list` shows
// a host's cores — read from their cleartext headers, no key needed.
#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/host_config.h"

namespace dumpcrypt::cli {
namespace {

struct ListFlags {
  std::vector<std::string> paths;
  std::string config = kDefaultHostConfig;
  bool json = false;
};

std::string Field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  if (j[key].is_string()) {
    const std::string s = j[key].get<std::string>();
    return s.empty() ? "-" : s;
  }
  return j[key].dump();
}

int RunList(const ListFlags& f) {
  const std::string cmd = "list";
  std::vector<std::string> paths = f.paths;
  if (paths.empty()) {
    auto config = LoadHostConfig(f.config);
    if (!config.ok()) {
      return UsageError(cmd, absl::InvalidArgumentError(absl::StrCat(
                                 "give a FOLDER, or a host configuration: ",
                                 config.status().message())));
    }
    paths.push_back(config->folder);
  }
  int exit = kExitOk;
  std::vector<nlohmann::json> dumps;
  ForEachFile(
      paths,
      [&](const std::string& path, bool named) {
        auto envelope = ProbeFile(path, ProbeOptions{});
        if (!envelope.ok()) {
          // Files that are no envelope are passed over in a folder.
          if (named || !absl::IsInvalidArgument(envelope.status())) {
            exit = WorseExit(exit,
                             FailByCause(cmd, Prefix(envelope.status(), path)));
          }
          return;
        }
        nlohmann::json j = (*envelope)->DescribeJson();
        j["file"] = path;
        dumps.push_back(std::move(j));
      },
      [&](const std::string& path, const absl::Status& status) {
        exit = WorseExit(exit, Fail(cmd, Prefix(status, path)));
      });
  auto created = [](const nlohmann::json& j) {
    return j.contains("dump") ? Field(j["dump"], "created") : "-";
  };
  std::stable_sort(dumps.begin(), dumps.end(),
                   [&](const nlohmann::json& a, const nlohmann::json& b) {
                     return created(a) < created(b);
                   });
  if (f.json) {
    PrintJson(dumps);
    return exit;
  }
  std::printf("%-20s %7s %5s %3s %-9s %-20s %9s  %s\n", "TIME", "PID", "UID",
              "SIG", "TYPE", "KEYID", "SIZE", "EXE/WORLD  FILE");
  for (const nlohmann::json& j : dumps) {
    const nlohmann::json dump = j.value("dump", nlohmann::json::object());
    const nlohmann::json process =
        dump.contains("process") && dump["process"].is_object()
            ? dump["process"]
            : nlohmann::json::object();
    std::string exe = Field(process, "executable");
    if (exe == "-") exe = Field(dump, "world");
    std::printf("%-20s %7s %5s %3s %-9s %-20s %9s  %s  %s\n",
                created(j).c_str(), Field(process, "pid").c_str(),
                Field(process, "uid").c_str(), Field(process, "signal").c_str(),
                Field(dump, "type").c_str(), Field(j, "key_id").c_str(),
                j.contains("size")
                    ? HumanBytes(j["size"].get<uint64_t>()).c_str()
                    : "-",
                exe.c_str(), j["file"].get<std::string>().c_str());
  }
  return exit;
}

}  // namespace

void AddListCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ListFlags>();
  CLI::App* c = app.add_subcommand(
      "list",
      "list sealed dumps, oldest first, from their cleartext headers (no key "
      "needed): time, pid, uid, signal, type, keyID, size, executable");
  c->add_option("PATH", f->paths,
                "dumps or folders (default: the folder of --config)");
  c->add_option("--config", f->config,
                "host configuration naming the dump folder")
      ->capture_default_str();
  c->add_flag("--json", f->json, "one JSON array of describe --json objects");
  c->callback([f, exit_code] { *exit_code = RunList(*f); });
}

}  // namespace dumpcrypt::cli
