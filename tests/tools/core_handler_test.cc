// The real kernel calls `dumpcrypt core-handler` through core_pattern:
// programs crash in a plain cgroup, a VM-like and a container-like one, and
// each dump is sealed under its rule's key, with its metadata and event, and
// debugs through the mount exactly as a plaintext core of the same crash.
#include <keyutils.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/kmip_provider.h"
#include "kms/kms_config.h"
#include "nlohmann/json.hpp"
#include "tests/fs/mount_fixture.h"
#include "tests/kms/pykmip_fixture.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPatternFile[] = "/proc/sys/kernel/core_pattern";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Cgroup2Root is where the unified cgroup hierarchy is mounted, or "".
std::string Cgroup2Root() {
  for (absl::string_view line :
       absl::StrSplit(ReadText("/proc/mounts"), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() > 2 && f[2] == "cgroup2") return f[1];
  }
  return "";
}

// WithoutAddresses replaces each hex number in gdb's frames with "0x?":
// two runs of one crash differ only in where ASLR put things.
std::string WithoutAddresses(const std::string& frames) {
  return std::regex_replace(frames, std::regex("0x[0-9a-f]+"), "0x?");
}

// AllowCores lifts RLIMIT_CORE, which the kernel heeds for a core file.
void AllowCores() {
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
    for (const char* id : {"host", "vm1-key", "ctr-key"}) {
      r = Run({"keystore", "new", "--keystore", ks_, "--key-id", id});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    WriteConfig("keystore = \"ks\"");
  }
  void TearDown() override {
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
)"));
  }
  void UseHandler() {
    WriteText(kPatternFile, absl::StrCat("|", ToolPath("dumpcrypt"),
                                         " core-handler --config ", config_,
                                         " %P %u %g %s %t %e"));
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
    const size_t events_before = Events().size();
    const pid_t pid = fork();
    if (pid == 0) {
      AllowCores();
      if (!procs.empty()) WriteText(procs, absl::StrCat(getpid()));
      const std::string mib_arg = absl::StrCat(mib);
      execl(crashme_.c_str(), crashme_.c_str(), mib_arg.c_str(), "crash",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status)) << status;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (Events().size() == events_before && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return pid;
  }
  std::vector<nlohmann::json> Events() {
    std::vector<nlohmann::json> out;
    for (absl::string_view line :
         absl::StrSplit(ReadText(events_), '\n', absl::SkipEmpty())) {
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }
  nlohmann::json Describe(const std::string& path) {
    const ToolResult r = Run({"describe", "--json", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)[0];
  }
  std::vector<std::string> FilesIn(const std::string& folder) {
    const ToolResult r = RunTool({"ls", "-A", folder});
    return absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  }

  TempDir dir_;
  const std::string crashme_ = dir_.File("crashme");
  const std::string ks_ = dir_.File("ks");
  const std::string config_ = dir_.File("host.toml");
  const std::string dumps_ = dir_.File("dumps");
  const std::string events_ = dir_.File("events.jsonl");
  std::string saved_pattern_;
  std::vector<std::string> cgroups_;
};

TEST_F(CoreHandlerTest, EachRuleSealsUnderItsKeyAndGdbSeesThePlaintextCore) {
  if (Cgroup2Root().empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
  // A plaintext core of the same crash, from the kernel itself.
  ASSERT_EQ(mkdir(dir_.File("plain").c_str(), 0755), 0);
  WriteText(kPatternFile, dir_.File("plain/core"));
  const pid_t plain = fork();
  if (plain == 0) {
    AllowCores();
    execl(crashme_.c_str(), crashme_.c_str(), "0", "crash",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(plain, &status, 0);
  ASSERT_TRUE(WCOREDUMP(status)) << "the kernel wrote no core: ulimit -c?";
  const std::string want =
      WithoutAddresses(GdbFrames(crashme_, dir_.File("plain/core")));
  ASSERT_THAT(want, HasSubstr("checksum_block"));

  UseHandler();
  struct Case {
    std::string cgroup, rule, key, type, unit;
  };
  const std::vector<Case> cases = {
      {"", "host-key", "host", "userworld", ""},
      {"/machine.slice/machine-qemu-1-vm1.scope", "vms", "vm1-key", "vm",
       "machine-qemu-1-vm1.scope"},
      {"/system.slice/docker-0123abcd.scope", "containers", "ctr-key",
       "userworld", "docker-0123abcd.scope"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rule);
    const pid_t pid = Crash(c.cgroup);
    const nlohmann::json e = Events().back();
    EXPECT_EQ(e["event"], "dump_sealed") << e;
    EXPECT_EQ(e["pid"], pid);
    EXPECT_EQ(e["rule"], c.rule);
    EXPECT_EQ(e["key_id"], c.key);
    EXPECT_EQ(e["signal"], 6);
    EXPECT_EQ(e["executable"], crashme_);
    const std::string file = e["file"];
    ASSERT_EQ(access(file.c_str(), R_OK), 0) << file;
    const nlohmann::json d = Describe(file);
    EXPECT_EQ(d["key_id"], c.key);
    EXPECT_EQ(d["dump"]["type"], c.type);
    EXPECT_EQ(d["dump"]["world"], "crashme");
    EXPECT_EQ(d["dump"]["process"]["pid"], pid);
    EXPECT_EQ(d["dump"]["process"]["signal"], 6);
    EXPECT_EQ(d["dump"]["process"]["executable"], crashme_);
    EXPECT_EQ(d["dump"]["process"]["command_line"],
              absl::StrCat(crashme_, " 0 crash"));
    if (!c.cgroup.empty()) {
      EXPECT_EQ(d["dump"]["process"]["cgroup"], c.cgroup);
      EXPECT_EQ(d["dump"]["process"]["unit"], c.unit);
    }
    if (c.type == "vm") EXPECT_EQ(d["dump"]["vm_name"], "vm1");
  }
  const ToolResult listed = Run({"list", dumps_});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  const std::vector<std::string> lines =
      absl::StrSplit(listed.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 4u) << listed.out;  // a heading and three dumps

  std::string why;
  if (!FuseUsable(&why)) GTEST_SKIP() << why;
  const std::string mnt = dir_.File("mnt");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  auto mount =
      Mount::Start(dumps_, mnt, {"keystore=" + ks_}, dir_.File("daemon.log"));
  ASSERT_TRUE(mount.ok()) << mount.status();
  for (const nlohmann::json& e : Events()) {
    std::string shown = e["file"];
    shown = mnt + "/" + shown.substr(dumps_.size() + 1);
    shown.resize(shown.size() - 4);  // ".dce"
    EXPECT_EQ(WithoutAddresses(GdbFrames(crashme_, shown)), want) << shown;
  }
  mount->reset();

  // `dumpcrypt debug` finds the executable in the header and runs gdb
  // through a private mount of its own, which it removes.
  const std::string file = Events().back()["file"];
  const ToolResult r = Run(
      {"debug", "--keystore", ks_, file, "--", "-batch", "-nx", "-ex", "bt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string frames;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (absl::StartsWith(line, "#")) absl::StrAppend(&frames, line, "\n");
  }
  EXPECT_EQ(WithoutAddresses(frames), want) << r.out << r.err;
  EXPECT_EQ(RunTool({"grep", "-c", "dumpcrypt-debug", "/proc/mounts"}).out,
            "0\n");
}

TEST_F(CoreHandlerTest, TheKeyringAloneSealsWithNoOtherSource) {
  const std::string ring = absl::StrCat("dumpcrypt-test-", getpid());
  WriteConfig("keystore = \"ks\"\nkey_lifetime_s = 600", ring);
  ToolResult r = Run({"keycache", "load", "--config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cached keyID 'vm1-key'"));
  r = Run({"keycache", "list", "--config", config_});
  EXPECT_THAT(r.out, HasSubstr("ctr-key"));
  // The key store is gone: only the kernel's cache can answer.
  ASSERT_EQ(rename(ks_.c_str(), dir_.File("ks.away").c_str()), 0);
  UseHandler();
  Crash("");
  nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_sealed") << e;
  EXPECT_EQ(e["key_id"], "host");
  r = Run({"verify", "--keystore", dir_.File("ks.away"), e["file"]});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = Run({"keycache", "flush", "--config", config_});
  EXPECT_THAT(r.out, HasSubstr("revoked 3"));
  Crash("");
  e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_no_key") << e;
  EXPECT_THAT(std::string(e["reason"]),
              HasSubstr("not in the kernel key cache"));
  // Nothing was written, not even a temporary file.
  EXPECT_EQ(FilesIn(dumps_).size(), 1u);
  const long id =
      keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", ring.c_str(), 0);
  if (id >= 0) keyctl_unlink(id, KEY_SPEC_USER_KEYRING);
}

TEST_F(CoreHandlerTest, TheKmsAnswersWhileTheCacheIsEmptyThenTheCacheAlone) {
  auto cluster = PyKmipCluster::Start(dir_.path(), 1);
  if (!cluster.ok()) GTEST_SKIP() << cluster.status();
  const std::string kms =
      (*cluster)->WriteConfig("kms.toml", "kms-a", {(*cluster)->Address(0)});
  auto kms_config = LoadKmsConfig(kms);
  ASSERT_TRUE(kms_config.ok()) << kms_config.status();
  auto provider = KmipProvider::Create(kms_config->providers[0], nullptr);
  ASSERT_TRUE(provider.ok()) << provider.status();
  auto id = (*provider)->RegisterKey("host-key",
                                     SecretBytes::CopyOf(RandomBytes(32, 5)));
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string ring = absl::StrCat("dumpcrypt-test-kms-", getpid());
  WriteText(config_, absl::StrCat(R"(folder = "dumps"
events = "events.jsonl"
kms = "kms.toml"
kms_deadline_ms = 1000
keyring = ")",
                                  ring, R"("
[host_key]
provider = "kms-a"
key_id = ")",
                                  *id, "\"\n"));
  UseHandler();
  // No key cache loaded: the KMS answers.
  Crash("");
  nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_sealed") << e;
  EXPECT_EQ(e["key_id"], *id);
  ToolResult r = Run({"verify", "--kms", kms, e["file"]});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Loaded, then the KMS goes down: the cache alone seals.
  r = Run({"keycache", "load", "--config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  (*cluster)->StopServer(0);
  Crash("");
  e = Events().back();
  EXPECT_EQ(e["event"], "dump_sealed") << e;
  // Neither: nothing is written, and the reason names the KMS.
  r = Run({"keycache", "flush", "--config", config_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Crash("");
  e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_no_key") << e;
  EXPECT_THAT(std::string(e["reason"]), HasSubstr("kms-a"));
  EXPECT_EQ(FilesIn(dumps_).size(), 2u);
  const long ring_id =
      keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", ring.c_str(), 0);
  if (ring_id >= 0) keyctl_unlink(ring_id, KEY_SPEC_USER_KEYRING);
}

TEST_F(CoreHandlerTest, AnUnreachableKmsDropsTheDumpOrSealsToTheRecipient) {
  // A KMS on a port nothing listens on, and no key store.
  ToolResult r = RunTool({"openssl", "req", "-x509", "-newkey", "ec",
                          "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-subj", "/CN=test", "-days", "1", "-keyout",
                          dir_.File("tls.key"), "-out", dir_.File("tls.crt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WriteText(dir_.File("kms.toml"), R"([[provider]]
name = "local"
servers = ["127.0.0.1:9"]
ca_file = "tls.crt"
cert_file = "tls.crt"
key_file = "tls.key"
)");
  WriteConfig("kms = \"kms.toml\"\nkms_deadline_ms = 500");
  UseHandler();
  Crash("");
  nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_no_key") << e;
  EXPECT_THAT(std::string(e["reason"]), HasSubstr("keyID 'host'"));
  EXPECT_TRUE(FilesIn(dumps_).empty());

  r = Run({"keygen", dir_.File("support.key")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WriteConfig(
      "kms = \"kms.toml\"\nkms_deadline_ms = 500\non_no_key = \"recipient\"\n"
      "recipients = [\"support.key.pub\"]");
  Crash("");
  e = Events().back();
  EXPECT_EQ(e["event"], "dump_sealed_to_recipient") << e;
  r = Run({"verify", "--identity", dir_.File("support.key"), e["file"]});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CoreHandlerTest, AFullFileSystemAndTheRateLimitDropDumpsLeavingNothing) {
  ASSERT_EQ(mkdir(dumps_.c_str(), 0700), 0);
  if (mount("tmpfs", dumps_.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{dumps_};
  WriteConfig("keystore = \"ks\"\nkeep_free = \"256K\"");
  UseHandler();
  Crash("", 8);  // an 8 MiB core into 2 MiB
  nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_no_space") << e;
  EXPECT_TRUE(FilesIn(dumps_).empty());
  // The small core fits; a second within the minute is one too many.
  WriteConfig("keystore = \"ks\"\nrate_limit = 1\nrate_interval_s = 600");
  Crash("");
  EXPECT_EQ(Events().back()["event"], "dump_sealed") << Events().back();
  Crash("");
  e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_rate_limit") << e;
  EXPECT_EQ(FilesIn(dumps_).size(), 1u);
  // No plaintext anywhere in the folder: the marker crashme writes into its
  // heap is only in the sealed (encrypted) file's plaintext.
  const ToolResult r =
      RunTool({"grep", "-rl", "dumpcrypt-demo-marker", dumps_});
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST_F(CoreHandlerTest, ACoreOverMaxSizeIsCutAndMarkedTruncated) {
  WriteConfig("keystore = \"ks\"\nmax_size = \"64K\"");
  UseHandler();
  Crash("");
  const nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_truncated") << e;
  EXPECT_EQ(e["size"], 64 << 10);
  EXPECT_THAT(std::string(e["reason"]), HasSubstr("cut at max_size"));
  const nlohmann::json d = Describe(e["file"]);
  EXPECT_EQ(d["dump"]["truncated"], true);
  EXPECT_EQ(d["size"], 64 << 10);
}

}  // namespace
}  // namespace dumpcrypt::testing
