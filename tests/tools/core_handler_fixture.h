// The fixture of the tests in which the real kernel calls `dumpcrypt
// core-handler` through core_pattern (restored in TearDown): a key store
// with the keys "host", "vm1-key", "ctr-key" and "unit-key", a host.toml
// with rules for VM-like and container-like cgroups and for systemd units
// named tenant-*.service, crashme built from samples/.
#ifndef DUMPCRYPT_TESTS_TOOLS_CORE_HANDLER_FIXTURE_H_
#define DUMPCRYPT_TESTS_TOOLS_CORE_HANDLER_FIXTURE_H_

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {

inline constexpr char kPatternFile[] = "/proc/sys/kernel/core_pattern";

// Cgroup2Root is where the unified cgroup hierarchy is mounted, or "".
inline std::string Cgroup2Root() {
  for (absl::string_view line :
       absl::StrSplit(ReadText("/proc/mounts"), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() > 2 && f[2] == "cgroup2") return f[1];
  }
  return "";
}

// AllowCores lifts RLIMIT_CORE, which the kernel heeds for a core file.
inline void AllowCores() {
  const rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  setrlimit(RLIMIT_CORE, &unlimited);
}

class CoreHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access(kPatternFile, W_OK) != 0) {
      GTEST_SKIP() << "setting core_pattern needs root";
    }
    saved_pattern_ = ReadText(kPatternFile);
    ToolResult r =
        RunTool({"cc", "-g", "-O0", "-o", crashme_,
                 std::string(DUMPCRYPT_SOURCE_DIR) + "/samples/crashme.c"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* id : {"host", "vm1-key", "ctr-key", "unit-key"}) {
      r = Run({"keystore", "new", "--keystore", ks_, "--key-id", id});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    WriteConfig("keystore = \"ks\"");
  }
  void TearDown() override {
    for (const auto& [path, value] : saved_) WriteText(path, value);
    if (!saved_pattern_.empty()) WriteText(kPatternFile, saved_pattern_);
    for (auto it = cgroups_.rbegin(); it != cgroups_.rend(); ++it) {
      rmdir(it->c_str());
    }
  }

  ToolResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args);
  }
  void WriteConfig(const std::string& extra, const std::string& keyring = "") {
    WriteText(config_, absl::StrCat(R"(folder = "dumps"
events = "events.jsonl"
keyring = ")",
                                    keyring, "\"\n", extra, R"(
[host_key]
provider = "local"
key_id = "host"

[[rule]]
name = "vms"
cgroup = "/machine.slice/machine-qemu*"
key_id = "vm1-key"
type = "vm"
vm = "vm1"

[[rule]]
name = "containers"
cgroup = "/system.slice/docker-*.scope"
key_id = "ctr-key"

[[rule]]
name = "units"
unit = "tenant-*.service"
key_id = "unit-key"
)"));
  }
  // UseHandler applies the sysctl drop-in a host installs
  // (dist/50-dumpcrypt.conf), with this build's dumpcrypt and the test's
  // config in its core_pattern.
  void UseHandler() {
    const std::string dropin =
        ReadText(std::string(DUMPCRYPT_SOURCE_DIR) + "/dist/50-dumpcrypt.conf");
    for (absl::string_view line : absl::StrSplit(dropin, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      const std::pair<std::string, std::string> kv =
          absl::StrSplit(line, absl::MaxSplits('=', 1));
      std::string value = absl::StrReplaceAll(
          kv.second, {{"/usr/bin/dumpcrypt core-handler",
                       absl::StrCat(ToolPath("dumpcrypt"),
                                    " core-handler --config ", config_)}});
      const std::string path = absl::StrCat(
          "/proc/sys/", absl::StrReplaceAll(kv.first, {{".", "/"}}));
      saved_.try_emplace(path, ReadText(path));
      WriteText(path, value);
    }
    ASSERT_THAT(ReadText(kPatternFile), ::testing::HasSubstr(config_));
  }
  // Crash runs crashme in `cgroup` (relative to the cgroup2 root; "" for
  // the caller's own) until the kernel dumps it, and waits for the
  // handler's event. Returns the crash's pid.
  pid_t Crash(const std::string& cgroup, int mib = 0) {
    std::string procs;
    if (!cgroup.empty()) {
      const std::string root = Cgroup2Root();
      if (root.empty()) return -1;
      std::string path = root;
      for (absl::string_view part :
           absl::StrSplit(cgroup, '/', absl::SkipEmpty())) {
        path = absl::StrCat(path, "/", part);
        if (mkdir(path.c_str(), 0755) == 0) cgroups_.push_back(path);
      }
      procs = path + "/cgroup.procs";
    }
    const std::string mib_arg = absl::StrCat(mib);
    return CrashAndWait([&] {
      if (!procs.empty()) WriteText(procs, absl::StrCat(getpid()));
      execl(crashme_.c_str(), crashme_.c_str(), mib_arg.c_str(), "crash",
            static_cast<char*>(nullptr));
    });
  }
  // CrashAndWait forks a child that runs `exec` (which execs a program that
  // dumps core) with cores allowed, counts it as the test's crash, waits for
  // the kernel to dump it and then, up to `wait`, for the handler's event.
  // Returns its pid.
  pid_t CrashAndWait(const std::function<void()>& exec,
                     absl::Duration wait = absl::Seconds(30)) {
    const size_t events_before = Events().size();
    const pid_t pid = fork();
    if (pid == 0) {
      AllowCores();
      exec();
      _exit(127);
    }
    crashed_.insert(pid);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status)) << status;
    const absl::Time deadline = absl::Now() + wait;
    while (Events().size() == events_before && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return pid;
  }
  // Events are those of the processes the test crashed: while core_pattern
  // names the handler, another test's process that dumps is sealed too.
  std::vector<nlohmann::json> Events() {
    std::vector<nlohmann::json> out;
    for (absl::string_view line :
         absl::StrSplit(ReadText(events_), '\n', absl::SkipEmpty())) {
      nlohmann::json e = nlohmann::json::parse(line);
      if (crashed_.contains(e.value("pid", -1))) out.push_back(std::move(e));
    }
    return out;
  }
  nlohmann::json Describe(const std::string& path) {
    const ToolResult r = Run({"describe", "--json", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)[0];
  }
  // FilesIn lists `folder` but for the sealed dumps of other processes
  // (core.COMM.UID.PID.TIME.dce).
  std::vector<std::string> FilesIn(const std::string& folder) {
    const ToolResult r = RunTool({"ls", "-A", folder});
    std::vector<std::string> out;
    for (absl::string_view name :
         absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      const std::vector<std::string> parts = absl::StrSplit(name, '.');
      int pid = 0;
      if (parts.size() >= 6 && parts[0] == "core" && parts.back() == "dce" &&
          absl::SimpleAtoi(parts[parts.size() - 3], &pid) &&
          !crashed_.contains(pid)) {
        continue;
      }
      out.emplace_back(name);
    }
    return out;
  }

  TempDir dir_;
  const std::string crashme_ = dir_.File("crashme");
  const std::string ks_ = dir_.File("ks");
  const std::string config_ = dir_.File("host.toml");
  const std::string dumps_ = dir_.File("dumps");
  const std::string events_ = dir_.File("events.jsonl");
  std::string saved_pattern_;
  std::map<std::string, std::string> saved_;  // sysctl files UseHandler set
  std::vector<std::string> cgroups_;
  std::set<int> crashed_;  // the pids of the test's crashes
};

}  // namespace dumpcrypt::testing

#endif  // DUMPCRYPT_TESTS_TOOLS_CORE_HANDLER_FIXTURE_H_
