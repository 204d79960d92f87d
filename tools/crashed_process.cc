#include "tools/crashed_process.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/file_io.h"

namespace dumpcrypt::cli {

std::string CgroupOf(const std::string& proc_cgroup) {
  std::string unified, systemd;
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) unified = std::string(line);
    const size_t at = line.find(":name=systemd:");
    if (at != absl::string_view::npos) {
      systemd = std::string(line.substr(at + sizeof(":name=systemd:") - 1));
    }
  }
  return unified.empty() || unified == "/"
             ? (systemd.empty() ? unified : systemd)
             : unified;
}

std::string UnitOf(const std::string& cgroup) {
  for (absl::string_view part :
       absl::StrSplit(cgroup, '/', absl::SkipEmpty())) {
    if (!absl::EndsWith(part, ".slice")) return std::string(part);
  }
  return "";
}

void ReadCrashedProcess(const std::string& proc, CrashedProcess* p) {
  const std::string dir = absl::StrCat(proc, "/", p->ids.pid);
  std::vector<char> link(4096);
  const ssize_t n =
      ::readlink((dir + "/exe").c_str(), link.data(), link.size() - 1);
  if (n > 0) p->executable.assign(link.data(), n);
  if (auto cmdline = ReadRegularFile(dir + "/cmdline", 1 << 20); cmdline.ok()) {
    std::string args = *cmdline;
    while (!args.empty() && args.back() == '\0') args.pop_back();
    p->command_line = absl::StrReplaceAll(args, {{std::string(1, '\0'), " "}});
  }
  if (auto cgroup = ReadRegularFile(dir + "/cgroup", 1 << 20); cgroup.ok()) {
    p->cgroup = CgroupOf(*cgroup);
    p->unit = UnitOf(p->cgroup);
  }
}

}  // namespace dumpcrypt::cli
