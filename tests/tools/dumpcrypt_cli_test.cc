// The dumpcrypt command, run for real: forms, outputs and exit codes.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CliTest : public ::testing::Test {
 protected:
  ToolResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args, input);
  }
  void SetUp() override {
    ToolResult r =
        Run({"keystore", "new", "--keystore", ks_, "--key-id", "host-key"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    core_ = RandomBytes(3 * 1024 * 1024 + 17, 1);
    WriteFileOrDie(dir_.File("core"), core_);
  }
  std::vector<std::string> Entries() {
    std::vector<std::string> names;
    DIR* d = opendir(dir_.path().c_str());
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir dir_;
  const std::string ks_ = dir_.File("ks");
  std::vector<uint8_t> core_;
};

TEST_F(CliTest, KeystoreNewListAndAdd) {
  ToolResult r = Run({"keystore", "new", "--keystore", ks_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string uuid = r.out.substr(0, r.out.size() - 1);
  EXPECT_THAT(uuid,
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-["
                                      "89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  const std::string hex(64, 'a');
  r = Run({"keystore", "add", "--keystore", ks_, "--key-id", "44", "--key-hex",
           "-"},
          hex + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"keystore", "list", "--keystore", ks_});
  EXPECT_EQ(r.out, "host-key\n" + uuid + "\n44\n");
  EXPECT_THAT(r.out, Not(HasSubstr(hex)));
  r = Run({"keystore", "add", "--keystore", ks_, "--key-id", "x", "--key-hex",
           "abc"});
  EXPECT_EQ(r.exit_code, 2);
  r = Run({"keystore", "add", "--keystore", ks_, "--key-id", "44", "--key-hex",
           hex});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("already"));
}

TEST_F(CliTest, SealDescribeExtractVerify) {
  ToolResult r = Run({"seal",
                      "--keystore",
                      ks_,
                      "--key-id",
                      "host-key",
                      "--provider",
                      "kms-a",
                      "--type",
                      "vm",
                      "--world",
                      "vmx",
                      "--host",
                      "esx-7",
                      "--vm",
                      "db01",
                      "--vm-uuid",
                      "564d-1",
                      "--sector-size",
                      "8192",
                      "--prefix-bytes",
                      "4096",
                      dir_.File("core"),
                      dir_.File("core.dce")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress bar without a terminal
  struct stat st;
  ASSERT_EQ(stat(dir_.File("core.dce").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  r = Run({"describe", "--json", dir_.File("core.dce")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out).at(0);
  EXPECT_EQ(j["key_id"], "host-key");
  EXPECT_EQ(j["provider"], "kms-a");
  EXPECT_EQ(j["cipher"], "AES-256-XTS");
  EXPECT_EQ(j["sector_size"], 8192);
  EXPECT_EQ(j["size"], core_.size());
  EXPECT_EQ(j["prefix_length"], 4096);
  EXPECT_EQ(j["integrity"], "aes-gmac-per-sector");
  EXPECT_EQ(j["dump"]["type"], "vm");
  EXPECT_EQ(j["dump"]["world"], "vmx");
  EXPECT_EQ(j["dump"]["host"], "esx-7");
  EXPECT_EQ(j["dump"]["vm_name"], "db01");
  EXPECT_EQ(j["dump"]["original_name"], "core");
  r = Run({"describe", dir_.File("core.dce")});
  EXPECT_THAT(r.out, HasSubstr("keyID 'host-key'"));
  EXPECT_THAT(r.out, HasSubstr("db01 (564d-1)"));

  r = Run(
      {"extract", "--keystore", ks_, dir_.File("core.dce"), dir_.File("out")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadFileOrFail(dir_.File("out")) == core_);
  ASSERT_EQ(stat(dir_.File("out").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  r = Run({"extract", "--keystore", ks_, dir_.File("core.dce"), "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(core_.begin(), core_.end()));
  r = Run({"verify", "--keystore", ks_, dir_.File("core.dce")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("OK"));
}

TEST_F(CliTest, JsonOutputIsValidForFileNamesThatAreNotUtf8) {
  const std::string sealed = dir_.File("core-\xff.dce");
  ToolResult r = Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                      dir_.File("core"), sealed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string shown = dir_.File("core-\xef\xbf\xbd.dce");  // U+FFFD

  r = Run({"describe", "--json", sealed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at(0)["file"], shown);
  r = Run({"keys", "--json", "--keystore", ks_, dir_.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dumps"].at(0)["file"], shown);
  EXPECT_EQ(j["summary"]["missing"], 0);
  r = Run({"describe", sealed});  // text output keeps the bytes
  EXPECT_THAT(r.out, HasSubstr(sealed));
}

TEST_F(CliTest, SealKeepsTheDumpWhenItsNamesAreNotText) {
  // As a core_pattern handler gets them: a process may name itself anything.
  const std::string input = dir_.File("core.\xff");
  WriteFileOrDie(input, core_);
  ToolResult r = Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                      "--world", "a\nb\xfe", input, dir_.File("c.dce")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("warning: world: "));
  EXPECT_THAT(r.err, HasSubstr("warning: original name: "));
  r = Run({"describe", "--json", dir_.File("c.dce")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out).at(0);
  EXPECT_EQ(j["dump"]["world"],
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(j["dump"]["original_name"], "core.\xef\xbf\xbd");
  r = Run({"extract", "--keystore", ks_, dir_.File("c.dce"), "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == std::string(core_.begin(), core_.end()));
}

TEST_F(CliTest, SealFromStdin) {
  ToolResult r = Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                      "--name", "core.42", "-", dir_.File("piped.dce")},
                     std::string(core_.begin(), core_.end()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"extract", "--keystore", ks_, dir_.File("piped.dce"), "-"});
  EXPECT_EQ(r.out, std::string(core_.begin(), core_.end()));
  r = Run({"describe", dir_.File("piped.dce")});
  EXPECT_THAT(r.out, HasSubstr("core.42"));
}

// The kernel starts a core_pattern handler with only stdin open. What seal
// opens must not land on descriptors 1 and 2, where any message would then
// be written into the envelope.
TEST_F(CliTest, SealAsACorePatternHandlerKeepsItsOutputOffStderr) {
  const std::string script = R"(
    mkfifo "$1/fifo"
    "$2" seal --keystore "$1/ks" --key-id host-key - "$1/h.dce" <"$1/fifo" 1>&- 2>&- &
    seal=$!
    exec 3>"$1/fifo"
    printf 'first bytes' >&3
    for i in $(seq 100); do
      ls -l /proc/$seal/fd | grep -q h.dce.dumpcrypt- && break
      sleep 0.05
    done
    readlink /proc/$seal/fd/1 /proc/$seal/fd/2
    exec 3>&-
    wait $seal
    echo "seal: $?")";
  ToolResult r =
      RunTool({"sh", "-c", script, "sh", dir_.path(), ToolPath("dumpcrypt")});
  EXPECT_EQ(r.out, "/dev/null\n/dev/null\nseal: 0\n") << r.err;
  r = Run({"extract", "--keystore", ks_, dir_.File("h.dce"), "-"});
  EXPECT_EQ(r.out, "first bytes");
}

TEST_F(CliTest, KeyProblemsExitThreeNamingFileAndKey) {
  ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                 dir_.File("core"), dir_.File("core.dce")})
                .exit_code,
            0);
  ToolResult r = Run({"seal", "--keystore", ks_, "--key-id", "nope",
                      dir_.File("core"), dir_.File("x.dce")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("keyID 'nope'"));
  const std::string other = dir_.File("other-ks");
  ASSERT_EQ(
      Run({"keystore", "new", "--keystore", other, "--key-id", "host-key"})
          .exit_code,
      0);
  r = Run({"extract", "--keystore", other, dir_.File("core.dce"),
           dir_.File("out")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(dir_.File("core.dce")));
  EXPECT_THAT(r.err, HasSubstr("keyID 'host-key'"));
  EXPECT_THAT(r.err, HasSubstr("wrong key"));
  EXPECT_EQ(access(dir_.File("out").c_str(), F_OK), -1);
  // keys checks that the key it finds opens the file, not only that the
  // keyID is there; files named on the command line are checked too.
  r = Run({"keys", "--keystore", other, dir_.File("core.dce")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, HasSubstr("wrong key"));
  EXPECT_THAT(r.out, HasSubstr("1 dumps, 1 distinct keys, 1 missing"));
  r = Run({"keys", "--keystore", ks_, dir_.File("core.dce"), dir_.File("core"),
           dir_.File("absent")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("available"));
  EXPECT_THAT(r.out, HasSubstr("0 missing, 2 files not read"));
  EXPECT_THAT(r.err, HasSubstr(dir_.File("core") +
                               ": neither a dumpcrypt envelope nor"));
  EXPECT_THAT(r.err, HasSubstr(dir_.File("absent") + ": No such file"));
  ASSERT_EQ(chmod(ks_.c_str(), 0644), 0);
  r = Run({"verify", "--keystore", ks_, dir_.File("core.dce")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("chmod 600"));
}

TEST_F(CliTest, TamperedFileExitsFourAndLeavesNoOutput) {
  ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                 dir_.File("core"), dir_.File("core.dce")})
                .exit_code,
            0);
  std::vector<uint8_t> bytes = ReadFileOrFail(dir_.File("core.dce"));
  bytes[4096 + 5 * (4096 + 16) + 100] ^= 0x20;   // sector 5
  bytes[4096 + 9 * (4096 + 16) + 4096] ^= 0x01;  // tag of sector 9
  WriteFileOrDie(dir_.File("core.dce"), bytes);
  ToolResult r = Run({"verify", "--keystore", ks_, dir_.File("core.dce")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("sector 5 "));
  EXPECT_THAT(r.err, HasSubstr("sector 9 "));
  EXPECT_THAT(r.err, HasSubstr("2 of 769 sectors"));
  r = Run(
      {"extract", "--keystore", ks_, dir_.File("core.dce"), dir_.File("out")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(Entries(), (std::vector<std::string>{"core", "core.dce", "ks"}));
  bytes.push_back(0);
  WriteFileOrDie(dir_.File("core.dce"), bytes);
  r = Run(
      {"extract", "--keystore", ks_, dir_.File("core.dce"), dir_.File("out")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("appended"));
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(Run({"seal", "--keystore", ks_}).exit_code, 2);
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key", "--type",
                 "kernel", dir_.File("core"), dir_.File("x")})
                .exit_code,
            2);
  for (const char* bad : {"1000", "256", "131072", "x"}) {
    EXPECT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                   "--sector-size", bad, dir_.File("core"), dir_.File("x")})
                  .exit_code,
              2)
        << bad;
  }
  EXPECT_EQ(
      Run({"seal", "--keystore", ks_, "--key-id", "host-key", "--prefix-bytes",
           "1048577", dir_.File("core"), dir_.File("x")})
          .exit_code,
      2);
  for (const std::string& bad_id :
       {std::string(), std::string(256, 'k'), std::string("a\nb")}) {
    ToolResult r = Run({"seal", "--keystore", ks_, "--key-id", bad_id,
                        dir_.File("core"), dir_.File("x")});
    EXPECT_EQ(r.exit_code, 2) << bad_id;
    EXPECT_THAT(r.err, HasSubstr("keyID"));
  }
  EXPECT_EQ(access(dir_.File("x").c_str(), F_OK), -1);
  EXPECT_EQ(Run({"describe", "--offset", "-5", dir_.File("core")}).exit_code,
            2);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"describe", "-"},
        std::vector<std::string>{"verify", "--keystore", ks_, "-"},
        std::vector<std::string>{"extract", "--keystore", ks_, "-",
                                 dir_.File("x")}}) {
    ToolResult r = Run(args, "piped bytes");
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_THAT(r.err, HasSubstr("not from stdin")) << args[0];
  }
  ToolResult folder = Run({"describe", dir_.File("core"), dir_.path()});
  EXPECT_EQ(folder.exit_code, 2);
  EXPECT_THAT(folder.err, HasSubstr(dir_.path() + " is a folder"));
  EXPECT_EQ(Run({"extract", "--key-hex", std::string(64, 'a'), "--offset", "-1",
                 dir_.File("core"), "-"})
                .exit_code,
            2);
  // A dump sent to a terminal by mistake (script(1) gives it one).
  ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                 dir_.File("core"), dir_.File("t.dce")})
                .exit_code,
            0);
  ToolResult r = RunTool({"script", "-qec",
                          ToolPath("dumpcrypt") + " extract --keystore " + ks_ +
                              " " + dir_.File("t.dce") + " -",
                          "/dev/null"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("not writing a decrypted dump to a terminal"));
  r = RunTool({"script", "-qec",
               ToolPath("dumpcrypt") + " seal --keystore " + ks_ +
                   " --key-id host-key - " + dir_.File("tty.dce"),
               "/dev/null"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("not reading a dump from a terminal"));
  EXPECT_EQ(access(dir_.File("tty.dce").c_str(), F_OK), -1);
  r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit status"));
}

TEST_F(CliTest, ExistingOutputIsKeptUnlessForced) {
  WriteFileOrDie(dir_.File("core.dce"), std::vector<uint8_t>{'x'});
  ToolResult r = Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                      dir_.File("core"), dir_.File("core.dce")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "dumpcrypt seal: " + dir_.File("core.dce") +
                       ": exists (not overwritten)\n");
  EXPECT_EQ(ReadFileOrFail(dir_.File("core.dce")).size(), 1u);
  r = Run({"seal", "--force", "--keystore", ks_, "--key-id", "host-key",
           dir_.File("core"), dir_.File("core.dce")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(ReadFileOrFail(dir_.File("core.dce")).size(), core_.size());
  // A folder is never an output, forced or not; nothing is left behind.
  ASSERT_EQ(mkdir(dir_.File("folder").c_str(), 0755), 0);
  r = Run({"extract", "--force", "--keystore", ks_, dir_.File("core.dce"),
           dir_.File("folder")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_.File("folder") + ": is a folder"));
  EXPECT_EQ(Entries(),
            (std::vector<std::string>{"core", "core.dce", "folder", "ks"}));
}

TEST_F(CliTest, InterruptedSealLeavesNothing) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const std::string tool = ToolPath("dumpcrypt");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[0], 0);
    close(pipefd[1]);
    execl(tool.c_str(), tool.c_str(), "seal", "--keystore", ks_.c_str(),
          "--key-id", "host-key", "-", dir_.File("live.dce").c_str(), nullptr);
    _exit(127);
  }
  close(pipefd[0]);
  // Once the pipe took the data, the seal has read (and written) most of it.
  ASSERT_EQ(write(pipefd[1], core_.data(), 2 << 20), 2 << 20);
  usleep(20000);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(pipefd[1]);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(Entries(), (std::vector<std::string>{"core", "ks"}));
}

// SIGKILL at random points of a seal and an extract: the folder then holds
// the finished output or nothing of it, never a partial or hidden file.
TEST_F(CliTest, KilledAtAnyPointSealAndExtractLeaveNothingPartial) {
  ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                 dir_.File("core"), dir_.File("whole.dce")})
                .exit_code,
            0);
  const std::string tool = ToolPath("dumpcrypt");
  std::mt19937 gen(7);
  int finished = 0;
  for (int i = 0; i < 30; ++i) {
    const bool seal = i % 2 == 0;
    const std::string out = dir_.File(seal ? "killed.dce" : "killed.plain");
    pid_t pid = fork();
    if (pid == 0) {
      if (seal) {
        execl(tool.c_str(), tool.c_str(), "seal", "--keystore", ks_.c_str(),
              "--key-id", "host-key", dir_.File("core").c_str(), out.c_str(),
              nullptr);
      } else {
        execl(tool.c_str(), tool.c_str(), "extract", "--keystore", ks_.c_str(),
              dir_.File("whole.dce").c_str(), out.c_str(), nullptr);
      }
      _exit(127);
    }
    usleep(gen() % 60000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    std::vector<std::string> names = Entries();
    const bool done = access(out.c_str(), F_OK) == 0;
    finished += done;
    EXPECT_EQ(names.size(), done ? 4u : 3u) << i;  // core, ks, whole.dce
    for (const std::string& name : names) EXPECT_NE(name[0], '.') << i;
    if (done && !seal) {
      EXPECT_TRUE(ReadFileOrFail(out) == core_) << i;
    }
    if (done && seal) {
      EXPECT_EQ(Run({"verify", "--keystore", ks_, out}).exit_code, 0) << i;
    }
    unlink(out.c_str());
  }
  std::printf("%d of 30 runs finished before the kill\n", finished);
}

}  // namespace
}  // namespace dumpcrypt::testing
