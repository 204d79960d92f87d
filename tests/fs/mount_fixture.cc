#include "tests/fs/mount_fixture.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {

bool FuseUsable(std::string* why) {
  if (geteuid() != 0) {
    *why = "mount tests need root";
    return false;
  }
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    *why = "no usable /dev/fuse";
    return false;
  }
  if (system("command -v fusermount3 >/dev/null") != 0) {
    *why = "no fusermount3 (Debian package fuse3)";
    return false;
  }
  return true;
}

// Unescape undoes mountinfo's \ooo escapes (space, tab, newline, backslash).
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out.push_back(
          static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

bool IsMounted(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (Unescape(point) == mountpoint &&
        line.find("fuse.dumpcryptfs") != std::string::npos)
      return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Mount>> Mount::Start(
    const std::string& source, const std::string& mountpoint,
    const std::vector<std::string>& options, const std::string& log_path,
    const std::vector<std::string>& wrapper) {
  std::vector<std::string> argv = wrapper;
  argv.push_back(ToolPath("dumpcryptfs"));
  argv.push_back("-f");
  if (!options.empty()) {
    argv.push_back("-o");
    argv.push_back(absl::StrJoin(options, ","));
  }
  argv.push_back(source);
  argv.push_back(mountpoint);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(log, 2);
    dup2(log, 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  std::unique_ptr<Mount> mount(new Mount(pid, mountpoint));
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    if (IsMounted(mountpoint)) return mount;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      mount->exit_status_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return absl::InternalError(
          absl::StrCat("dumpcryptfs exited with ", mount->exit_status_,
                       " before mounting; see ", log_path));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("dumpcryptfs did not mount in 15 s");
}

Mount::~Mount() { Unmount(); }

void Mount::Signal(int sig) {
  if (exit_status_ < 0) kill(pid_, sig);
}

int Mount::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (exit_status_ < 0 && absl::Now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return exit_status_;
}

int Mount::Unmount() {
  if (unmounted_) return exit_status_;  // a later mount there is not ours
  if (exit_status_ < 0 && IsMounted(mountpoint_)) {
    RunTool({"fusermount3", "-u", mountpoint_});
  }
  if (WaitExit(absl::Seconds(10)) < 0) {
    kill(pid_, SIGKILL);
    WaitExit(absl::Seconds(5));
  }
  if (IsMounted(mountpoint_)) RunTool({"fusermount3", "-u", "-z", mountpoint_});
  unmounted_ = true;
  return exit_status_;
}

std::string Sha256OfFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return "open failed";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0)
    EVP_DigestUpdate(ctx, buf.data(), n);
  close(fd);
  unsigned char md[32];
  EVP_DigestFinal_ex(ctx, md, nullptr);
  EVP_MD_CTX_free(ctx);
  if (n < 0) return absl::StrCat("read failed: errno ", errno);
  std::string hex;
  for (unsigned char c : md)
    absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  return hex;
}

}  // namespace dumpcrypt::testing
