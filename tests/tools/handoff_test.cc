// Support hand-off, run as the tools are: slots of every kind added and
// removed by rekey, sealing to a recipient, opening with a password or an
// identity only, and rekey killed at random points.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "absl/time/clock.h"
#include "base/file_io.h"
#include "envelope/envelope_format.h"
#include "envelope/envelope_opener.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/local_keystore.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

// A cheap Argon2id: the tests check the slots, not the KDF's cost.
const std::vector<std::string> kCheap = {"--argon2-memory", "8",
                                         "--argon2-lanes", "1"};

class HandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        Run({"keystore", "new", "--keystore", ks_, "--key-id", "host-key"})
            .exit_code,
        0);
    WriteFileOrDie(dir_.File("core"), core_);
    ASSERT_EQ(Run({"seal", "--keystore", ks_, "--key-id", "host-key",
                   dir_.File("core"), sealed_})
                  .exit_code,
              0);
    WriteSecretFile(pw_, "correct horse\n");
    WriteSecretFile(dir_.File("wrong-pw"), "wrong horse\n");
    ASSERT_EQ(Run({"keygen", dir_.File("support")}).exit_code, 0);
    ASSERT_EQ(
        Run({"keygen", "--type", "rsa", "--bits", "2048", dir_.File("rsa")})
            .exit_code,
        0);
    ASSERT_EQ(Run({"keygen", dir_.File("stranger")}).exit_code, 0);
  }
  ToolResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args);
  }
  ToolResult Rekey(std::vector<std::string> args) {
    args.insert(args.begin(), {"rekey", "--keystore", ks_});
    args.insert(args.end(), kCheap.begin(), kCheap.end());
    args.push_back(sealed_);
    return Run(args);
  }
  // Extracts with the key source `source` (a flag and its value) only.
  ToolResult ExtractWith(const std::string& flag, const std::string& value) {
    unlink(out_.c_str());
    return Run({"extract", flag, value, sealed_, out_});
  }
  std::vector<std::string> SlotKinds() {
    ToolResult r = Run({"describe", "--json", sealed_});
    const nlohmann::json described = nlohmann::json::parse(r.out);
    std::vector<std::string> kinds;
    for (const auto& slot : described[0]["key_slots"])
      kinds.push_back(slot["kind"]);
    return kinds;
  }

  TempDir dir_;
  const std::vector<uint8_t> core_ = RandomBytes(200000, 5);
  const std::string ks_ = dir_.File("ks");
  const std::string pw_ = dir_.File("pw");
  const std::string sealed_ = dir_.File("core.dce");
  const std::string out_ = dir_.File("out");
};

TEST_F(HandoffTest, EverySlotKindOpensTheDumpAlone) {
  ToolResult r = Rekey({"--add-password-file", pw_, "--add-recipient",
                        dir_.File("support.pub"), "--add-recipient",
                        dir_.File("rsa.pub")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SlotKinds(), (std::vector<std::string>{"provider-key", "password",
                                                   "x25519", "rsa-oaep"}));
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"--keystore", ks_},
           {"--password-file", pw_},
           {"--identity", dir_.File("support")},
           {"--identity", dir_.File("rsa")}}) {
    r = ExtractWith(flag, value);
    EXPECT_EQ(r.exit_code, 0) << flag << " " << r.err;
    EXPECT_TRUE(ReadFileOrFail(out_) == core_) << flag;
  }
  r = ExtractWith("--password-file", dir_.File("wrong-pw"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(sealed_ + ": "));
  EXPECT_THAT(r.err, HasSubstr("wrong key"));
  r = ExtractWith("--identity", dir_.File("stranger"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(sealed_ + ": "));
  EXPECT_EQ(access(out_.c_str(), F_OK), -1);
  r = Run({"describe", sealed_});
  EXPECT_THAT(
      r.out,
      HasSubstr(
          "key slot:       password (Argon2id, 8.0 MiB, 1 pass, 1 lane)"));
}

TEST_F(HandoffTest, RemovingSlotsTakesTheirKeysAway) {
  ASSERT_EQ(Rekey({"--add-password-file", pw_}).exit_code, 0);
  ToolResult r = Rekey({"--remove-slot", "host-key"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SlotKinds(), (std::vector<std::string>{"password"}));
  EXPECT_EQ(ExtractWith("--keystore", ks_).exit_code, 3);
  EXPECT_EQ(ExtractWith("--password-file", pw_).exit_code, 0);
  // A slot that is not there, or the last slot: refused, file unchanged.
  const std::vector<uint8_t> before = ReadFileOrFail(sealed_);
  r = Run(
      {"rekey", "--password-file", pw_, "--remove-slot", "host-key", sealed_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no slot is named 'host-key'"));
  r = Run(
      {"rekey", "--password-file", pw_, "--remove-slot", "password", sealed_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no slot would be left"));
  EXPECT_TRUE(ReadFileOrFail(sealed_) == before);
  // Re-keyed to a recipient, with the password as the key source.
  r = Run({"rekey", "--password-file", pw_, "--add-recipient",
           dir_.File("support.pub"), "--remove-all-but", "password", sealed_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"rekey", "--identity", dir_.File("support"), "--remove-slot",
           "password", sealed_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SlotKinds(), (std::vector<std::string>{"x25519"}));
  EXPECT_EQ(ExtractWith("--identity", dir_.File("support")).exit_code, 0);
  EXPECT_TRUE(ReadFileOrFail(out_) == core_);
}

TEST_F(HandoffTest, AHostSealsToARecipientHoldingNoSecret) {
  const std::string to_support = dir_.File("to-support.dce");
  ToolResult r = Run({"seal", "--recipient", dir_.File("support.pub"),
                      dir_.File("core"), to_support});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"extract", "--identity", dir_.File("support"), to_support, out_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadFileOrFail(out_) == core_);
  r = Run({"verify", "--identity", dir_.File("stranger"), to_support});
  EXPECT_EQ(r.exit_code, 3);
  r = Run({"keys", "--identity", dir_.File("support"), to_support});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("recipient X25519 sha256:"));
  r = Run({"seal", dir_.File("core"), dir_.File("none.dce")});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(HandoffTest, RecryptChangesTheDataKeyAndKeepsTheBytes) {
  ASSERT_EQ(Rekey({"--add-password-file", pw_}).exit_code, 0);
  const std::vector<uint8_t> before = ReadFileOrFail(sealed_);
  ToolResult r = Run({"recrypt", "--keystore", ks_, sealed_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("slot 'password' dropped"));
  const std::vector<uint8_t> after = ReadFileOrFail(sealed_);
  // A new file id and data key: no unit of ciphertext is the same.
  ASSERT_EQ(after.size(), before.size());
  EXPECT_FALSE(
      std::equal(before.begin() + 40, before.begin() + 56, after.begin() + 40));
  EXPECT_FALSE(std::equal(before.begin() + 4096, before.begin() + 8192,
                          after.begin() + 4096));
  EXPECT_EQ(SlotKinds(), (std::vector<std::string>{"provider-key"}));
  EXPECT_EQ(ExtractWith("--keystore", ks_).exit_code, 0);
  EXPECT_TRUE(ReadFileOrFail(out_) == core_);
  r = Run({"recrypt", "--keystore", ks_, "--add-password-file", pw_,
           "--argon2-memory", "8", "--argon2-lanes", "1", sealed_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ExtractWith("--password-file", pw_).exit_code, 0);
  EXPECT_TRUE(ReadFileOrFail(out_) == core_);
  // Nothing left beside it.
  EXPECT_EQ(access(dir_.File(".core.dce.recrypt").c_str(), F_OK), -1);
}

// SIGKILL at random points of rekeys that add and remove a password slot:
// the file always opens with the host key, with the old or the new slots.
// The kills fall anywhere in twice a rekey's run time, measured first (much
// longer under sanitizers); checks run in-process, to keep the loop short.
TEST_F(HandoffTest, KilledAtAnyPointRekeyLeavesTheOldSlotsOrTheNew) {
  const std::string tool = ToolPath("dumpcrypt");
  auto slot_count = [&]() -> size_t {
    absl::StatusOr<UniqueFd> fd = OpenReadOnly(sealed_);
    if (!fd.ok()) return 0;
    absl::StatusOr<EnvelopeHeader> header = ReadHeader(fd->get());
    return header.ok() ? header->slots.size() : 0;
  };
  auto rekey = [&](bool add) -> pid_t {
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<std::string> args = {tool, "rekey", "--keystore", ks_};
      if (add) {
        args.insert(args.end(), {"--add-password-file", pw_});
        args.insert(args.end(), kCheap.begin(), kCheap.end());
      } else {
        args.insert(args.end(), {"--remove-slot", "password"});
      }
      args.push_back(sealed_);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(tool.c_str(), argv.data());
      _exit(127);
    }
    return pid;
  };
  const absl::Time start = absl::Now();
  for (bool add : {true, false}) {
    int status = 0;
    waitpid(rekey(add), &status, 0);
    ASSERT_EQ(status, 0);
  }
  const int64_t run_us = absl::ToInt64Microseconds(absl::Now() - start) / 2;
  auto store = LocalKeyStore::Open(ks_);
  ASSERT_TRUE(store.ok()) << store.status();
  std::mt19937 gen(11);
  int finished = 0;
  constexpr int kTries = 200;
  for (int i = 0; i < kTries; ++i) {
    const size_t before = slot_count();
    const bool add = before == 1;
    const pid_t pid = rekey(add);
    usleep(static_cast<useconds_t>(gen() % (run_us * 2 + 1)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const size_t after = slot_count();
    EXPECT_TRUE(after == before || after == (add ? 2u : 1u)) << i;
    finished += after != before;
    absl::StatusOr<std::unique_ptr<EnvelopeView>> view =
        OpenEnvelopeFile(sealed_, **store);
    ASSERT_TRUE(view.ok()) << i << ": " << view.status();
    absl::StatusOr<VerifyReport> report = (*view)->Verify(nullptr);
    ASSERT_TRUE(report.ok() && report->damaged == 0) << i;
  }
  std::printf("%d of %d rekeys finished before the kill (a rekey: %lld us)\n",
              finished, kTries, static_cast<long long>(run_us));
  EXPECT_GT(finished, 0);
  EXPECT_LT(finished, kTries);
}

}  // namespace
}  // namespace dumpcrypt::testing
