#include "tools/dump_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_io.h"

namespace dumpcrypt::cli {

absl::StatusOr<std::vector<SealedDump>> ListSealedDumps(
    const std::string& folder) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(folder.c_str()),
                                          &::closedir);
  if (dir == nullptr) return ErrnoStatus(errno, folder);
  std::vector<SealedDump> out;
  while (const dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (!absl::StartsWith(name, "core.") || !absl::EndsWith(name, ".dce")) {
      continue;
    }
    struct stat st;
    if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
            0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    out.push_back({folder + "/" + name,
                   static_cast<uint64_t>(st.st_blocks) * 512,
                   absl::TimeFromTimespec(st.st_mtim)});
  }
  std::sort(out.begin(), out.end(),
            [](const SealedDump& a, const SealedDump& b) {
              return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
            });
  return out;
}

absl::StatusOr<uint64_t> FreeBytes(const std::string& folder) {
  struct statvfs fs;
  if (::statvfs(folder.c_str(), &fs) != 0) return ErrnoStatus(errno, folder);
  return uint64_t{fs.f_bavail} * fs.f_frsize;
}

std::vector<std::string> Vacuum(const HostConfig& config) {
  std::vector<std::string> removed;
  auto dumps = ListSealedDumps(config.folder);
  if (!dumps.ok()) return removed;
  uint64_t use = 0;
  for (const SealedDump& d : *dumps) use += d.bytes;
  for (const SealedDump& d : *dumps) {
    const bool over_use = config.max_use != 0 && use > config.max_use;
    auto free = FreeBytes(config.folder);
    const bool short_of_space =
        config.keep_free != 0 && free.ok() && *free < config.keep_free;
    if (!over_use && !short_of_space) break;
    if (::unlink(d.path.c_str()) != 0) continue;
    use -= d.bytes;
    removed.push_back(d.path);
  }
  return removed;
}

std::string DumpFileName(const CrashedProcess& p) {
  std::string comm = p.comm.empty() ? "unknown" : p.comm.substr(0, 64);
  for (char& c : comm) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '+') c = '_';
  }
  return absl::StrCat("core.", comm, ".", p.ids.uid, ".", p.ids.pid, ".",
                      p.time_unix, ".dce");
}

}  // namespace dumpcrypt::cli
