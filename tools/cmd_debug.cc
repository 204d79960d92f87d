// dumpcrypt debug: the `coredumpctl debug` of a sealed dump — gdb on its
// decrypted view through a private mount, the executable taken from the
// header; nothing decrypted is written anywhere.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

struct DebugFlags {
  KeySourceFlags keys;
  std::string file;
  std::string exe;
  std::string gdb = "gdb";
  std::vector<std::string> gdb_args;
};

// Spawn runs `argv` (looked up in PATH) and returns its pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "dumpcrypt debug: cannot run %s: %s\n", args[0],
               std::strerror(errno));
  ::_exit(127);
}

int Wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Dumpcryptfs is the dumpcryptfs beside this program, else the one in PATH.
std::string Dumpcryptfs() {
  char self[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    const std::string beside = DirName(std::string(self, n)) + "/dumpcryptfs";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "dumpcryptfs";
}

// PrivateMount mounts a folder on a fresh 0700 mountpoint for as long as it
// lives; the daemon runs in the foreground as its child.
class PrivateMount {
 public:
  static absl::StatusOr<std::unique_ptr<PrivateMount>> Start(
      const std::string& source, const KeySourceFlags& keys) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    std::string dir = absl::StrCat(runtime != nullptr ? runtime : "/tmp",
                                   "/dumpcrypt-debug.XXXXXX");
    if (::mkdtemp(dir.data()) == nullptr) return ErrnoStatus(errno, dir);
    auto mount = std::unique_ptr<PrivateMount>(new PrivateMount(dir));
    struct stat before;
    if (::stat(dir.c_str(), &before) != 0) return ErrnoStatus(errno, dir);
    std::vector<std::string> argv = {Dumpcryptfs(), "-f"};
    auto option = [&argv](const char* name, const std::string& value) {
      if (!value.empty())
        argv.insert(argv.end(), {"-o", absl::StrCat(name, "=", value)});
    };
    option("keystore", keys.keystore);
    option("kms", keys.kms);
    option("vmware_keystore", keys.vmware_keystore);
    option("password_file", keys.password_file);
    for (const std::string& id : keys.identities) option("identity", id);
    argv.insert(argv.end(), {source, dir});
    mount->daemon_ = Spawn(argv);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    for (;;) {
      struct stat now;
      if (::stat(dir.c_str(), &now) == 0 && now.st_dev != before.st_dev) break;
      int status = 0;
      if (::waitpid(mount->daemon_, &status, WNOHANG) == mount->daemon_) {
        mount->daemon_ = -1;
        return absl::UnavailableError("dumpcryptfs could not mount " + source);
      }
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError("dumpcryptfs did not mount " +
                                           source);
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return mount;
  }
  ~PrivateMount() {
    if (daemon_ > 0) {
      const int rc = Wait(Spawn({"fusermount3", "-u", "-q", dir_}));
      if (rc != 0) ::kill(daemon_, SIGTERM);
      Wait(daemon_);
    }
    ::rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  explicit PrivateMount(std::string dir) : dir_(std::move(dir)) {}
  const std::string dir_;
  pid_t daemon_ = -1;
};

int RunDebug(const DebugFlags& f) {
  const std::string cmd = "debug";
  auto envelope = ProbeFile(f.file, ProbeOptions{});
  if (!envelope.ok())
    return FailByCause(cmd, Prefix(envelope.status(), f.file));
  std::string exe = f.exe;
  if (exe.empty()) {
    const nlohmann::json j = (*envelope)->DescribeJson();
    if (j.contains("dump") && j["dump"].contains("process") &&
        j["dump"]["process"].is_object()) {
      exe = j["dump"]["process"].value("executable", "");
    }
  }
  if (exe.empty()) {
    return UsageError(cmd, absl::InvalidArgumentError(
                               f.file + " names no executable: give --exe"));
  }
  if (!f.keys.key_hex.empty()) {
    return UsageError(cmd, absl::InvalidArgumentError(
                               "the mount takes no --key-hex: give --keystore, "
                               "--kms, --password-file or --identity"));
  }
  // Fail here, with the cause, rather than inside gdb.
  auto resolver = f.keys.MakeResolver();
  if (!resolver.ok()) return Fail(cmd, resolver.status(), true);
  absl::Status key = (*envelope)->CheckKey(**resolver);
  if (!key.ok()) return FailByCause(cmd, Prefix(key, f.file));

  const std::string name = f.file.substr(f.file.rfind('/') + 1);
  auto mount = PrivateMount::Start(DirName(f.file), f.keys);
  if (!mount.ok()) return Fail(cmd, mount.status());
  std::string shown = (*mount)->dir() + "/" + name;
  for (const char* suffix : {".dce", ".ve"}) {
    const std::string stripped =
        shown.substr(0, shown.size() - std::string(suffix).size());
    if (absl::EndsWith(shown, suffix) &&
        ::access(stripped.c_str(), F_OK) == 0) {
      shown = stripped;
      break;
    }
  }
  std::vector<std::string> argv = {f.gdb};
  argv.insert(argv.end(), f.gdb_args.begin(), f.gdb_args.end());
  argv.insert(argv.end(), {exe, shown});
  return Wait(Spawn(argv));
}

}  // namespace

void AddDebugCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<DebugFlags>();
  CLI::App* c = app.add_subcommand(
      "debug",
      "run gdb on a sealed dump's decrypted view through a private mount "
      "(nothing decrypted is written), with the executable its header names; "
      "arguments after -- go to gdb, e.g. -- -batch -ex bt");
  f->keys.Add(c);
  c->add_option("--exe", f->exe,
                "the executable (default: the one in the dump's header)");
  c->add_option("--gdb", f->gdb, "the debugger to run")->capture_default_str();
  c->add_option("FILE", f->file, "the sealed dump")->required()->check(AFile());
  c->add_option("GDB_ARGS", f->gdb_args, "arguments for gdb, after --");
  c->callback([f, exit_code] { *exit_code = RunDebug(*f); });
}

}  // namespace dumpcrypt::cli
