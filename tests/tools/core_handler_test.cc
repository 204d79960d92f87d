// The real kernel calls `dumpcrypt core-handler` through core_pattern:
// programs crash in a plain cgroup, a VM-like and a container-like one and
// a systemd service's, and each dump is sealed under its rule's key, with its
// metadata and event, and debugs through the mount exactly as a plaintext core
// of the same crash.
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
#include "tests/tools/core_handler_fixture.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

// WithoutAddresses replaces each hex number in gdb's frames with "0x?":
// two runs of one crash differ only in where ASLR put things.
std::string WithoutAddresses(const std::string& frames) {
  return std::regex_replace(frames, std::regex("0x[0-9a-f]+"), "0x?");
}

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
       "userworld", "docker-0123abcd.scope"},
      {"/system.slice/tenant-a.service", "units", "unit-key", "userworld",
       "tenant-a.service"}};
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
    if (c.type == "vm") {
      EXPECT_EQ(d["dump"]["vm_name"], "vm1");
    }
  }
  const ToolResult listed = Run({"list", dumps_});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  size_t listed_crashes = 0;
  for (absl::string_view line : absl::StrSplit(listed.out, '\n')) {
    listed_crashes += absl::StrContains(line, crashme_);
  }
  EXPECT_EQ(listed_crashes, cases.size()) << listed.out;

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
  EXPECT_THAT(r.out, HasSubstr("revoked 4"));
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

}  // namespace
}  // namespace dumpcrypt::testing
