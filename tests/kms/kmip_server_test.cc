// KMIP against real PyKMIP servers: Get/Locate/Create/Register, failover
// (refused, hung), not found, wrong CA, key states, `dumpcrypt keys`.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/kmip_connection.h"
#include "kms/kms_config.h"
#include "tests/fs/mount_fixture.h"
#include "tests/kms/kmip_test_base.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST_F(KmipServerTest, GetLocateCreateAndState) {
  auto provider = Provider(Both());
  ASSERT_OK_AND_ASSIGN(SecretBytes key, provider->GetKey("2"));
  EXPECT_EQ(ToHex(key.span()), ToHex(SeedKey(2)));
  ASSERT_OK_AND_ASSIGN(auto ids, provider->Locate("seed-3"));
  EXPECT_THAT(ids, ::testing::ElementsAre("3"));
  ASSERT_OK_AND_ASSIGN(std::string made, provider->CreateKey("made-by-test"));
  ASSERT_OK_AND_ASSIGN(kmip::KeyState state, provider->GetState(made));
  EXPECT_EQ(state, kmip::KeyState::kActive);
  ASSERT_OK_AND_ASSIGN(SecretBytes created, provider->GetKeyForSealing(made));
  EXPECT_EQ(created.size(), 32u);
}

TEST_F(KmipServerTest, FailsOverWhenTheFirstServerRefuses) {
  const std::string closed =
      "127.0.0.1:" + std::to_string(cluster_->port(0) == 1 ? 2 : 1);
  auto provider = Provider(cluster_->WriteConfig(
      "refused.toml", "kms-a", {closed, cluster_->Address(1)}));
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(SecretBytes key, provider->GetKey("1"));
  EXPECT_EQ(ToHex(key.span()), ToHex(SeedKey(1)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(KmipServerTest, FailsOverWhenTheFirstServerHangs) {
  cluster_->Pause(0);
  auto provider = Provider(cluster_->WriteConfig(
      "hang.toml", "kms-a", {cluster_->Address(0), cluster_->Address(1)},
      "client", "ca.crt", 1000, 1500));
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(SecretBytes key, provider->GetKey("1"));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(ToHex(key.span()), ToHex(SeedKey(1)));
  EXPECT_GE(took,
            absl::Milliseconds(1400));  // waited for the hung server's deadline
  EXPECT_LT(took, absl::Milliseconds(1500 + 2500));  // and not much more
  cluster_->Resume(0);
}

// A cluster that hangs costs one wait, not one per key: `dumpcrypt keys`
// over dumps under many keyIDs, or a mount opening them, would wait for
// every one of them.
TEST_F(KmipServerTest, ServersThatTimedOutAreSkippedForAWhile) {
  cluster_->Pause(0);
  cluster_->Pause(1);
  auto provider = Provider(cluster_->WriteConfig(
      "hung.toml", "kms-a", {cluster_->Address(0), cluster_->Address(1)},
      "client", "ca.crt", 1000, 700, 2500));
  absl::Time start = absl::Now();
  EXPECT_EQ(provider->GetKey("1").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1300));  // both waited
  start = absl::Now();
  auto skipped = provider->GetKey("2");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(skipped.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(skipped.status().message()),
              HasSubstr(cluster_->Address(0) + ": not asked for "));
  EXPECT_THAT(std::string(skipped.status().message()),
              HasSubstr("s more, it timed out (TLS handshake: timed out after "
                        "700ms); " +
                        cluster_->Address(1)));
  cluster_->Resume(0);
  cluster_->Resume(1);
  absl::SleepFor(absl::Milliseconds(2600) - (absl::Now() - start));
  ASSERT_OK_AND_ASSIGN(SecretBytes key, provider->GetKey("2"));
  EXPECT_EQ(ToHex(key.span()), ToHex(SeedKey(2)));
}

TEST_F(KmipServerTest, UnknownKeyIsNotFoundOnEveryServer) {
  auto provider = Provider(Both());
  auto missing = provider->GetKey("999");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("key provider 'kms-a'"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("'999'"));
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr(cluster_->Address(0)));
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr(cluster_->Address(1)));
}

TEST_F(KmipServerTest, ItemOnOneReplicaOnlyIsFound) {
  auto provider = Provider(Both());  // "10" exists on the second server only
  ASSERT_OK_AND_ASSIGN(SecretBytes key, provider->GetKey("10"));
  EXPECT_EQ(ToHex(key.span()), ToHex(SeedKey(10)));
}

TEST_F(KmipServerTest, AllServersDownThenOneBack) {
  auto provider = Provider(Both());
  Stop(0);
  Stop(1);
  const absl::Time start = absl::Now();
  auto down = provider->GetKey("1");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // refused: no waiting
  EXPECT_THAT(std::string(down.status().message()),
              HasSubstr("Connection refused"));
  ASSERT_TRUE(cluster_->StartServer(1).ok());
  running_[1] = true;
  ASSERT_OK_AND_ASSIGN(SecretBytes key, provider->GetKey("1"));
  EXPECT_EQ(ToHex(key.span()), ToHex(SeedKey(1)));
}

TEST_F(KmipServerTest, WrongCaIsAClearVerificationError) {
  auto provider = Provider(cluster_->WriteConfig("wrong-ca.toml", "kms-a",
                                                 {cluster_->Address(0)},
                                                 "client", "other-ca.crt"));
  auto result = provider->GetKey("1");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("certificate verification failed"));
}

TEST_F(KmipServerTest, KeysCommandFindsTheMissingKey) {
  const std::string dumps = dir_->File("dumps");
  mkdir(dumps.c_str(), 0755);
  const std::string conf = Both();
  for (const char* id : {"1", "2"}) {
    ToolResult r =
        RunTool({ToolPath("dumpcrypt"), "seal", "--kms", conf, "--provider",
                 "kms-a", "--key-id", id, "-", dumps + "/dump-" + id + ".dce"},
                "core bytes");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // A dump whose key the KMS does not have.
  ToolResult r = RunTool({ToolPath("dumpcrypt"), "keystore", "new",
                          "--keystore", dir_->File("ks"), "--key-id", "77"});
  r = RunTool(
      {ToolPath("dumpcrypt"), "seal", "--keystore", dir_->File("ks"),
       "--provider", "kms-a", "--key-id", "77", "-", dumps + "/lost.dce"},
      "core bytes");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int gets = Gets();
  r = RunTool({ToolPath("dumpcrypt"), "keys", "--kms", conf, dumps});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 dumps, 3 distinct keys, 1 missing"));
  EXPECT_THAT(r.out, HasSubstr("not found"));
  EXPECT_THAT(r.err, HasSubstr("keyID '77' (provider 'kms-a')"));
  EXPECT_EQ(Gets() - gets, 2);  // each available key fetched once
  r = RunTool({ToolPath("dumpcrypt"), "extract", "--kms", conf,
               dumps + "/dump-2.dce", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "core bytes");
}

// PyKMIP lets only the certificate that made an object use it: another
// client is refused, and the error names the provider and our certificate.
TEST_F(KmipServerTest, AnotherClientIsRefusedByName) {
  auto provider = Provider(cluster_->WriteConfig(
      "other.toml", "kms-a", {cluster_->Address(0)}, "other"));
  auto refused = provider->GetKey("1");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied)
      << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("key provider 'kms-a'"));
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("CN=dumpcrypt-other"));
}

TEST_F(KmipServerTest, KeyStatesDecideUse) {
  const std::string conf =
      cluster_->WriteConfig("states.toml", "kms-a", {cluster_->Address(0)});
  auto config = LoadKmsConfig(conf);
  ASSERT_TRUE(config.ok());
  std::vector<std::string> warnings;
  auto provider = KmipProvider::Create(
      config->providers[0],
      [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(provider.ok());
  KmipProvider& p = **provider;
  ASSERT_OK_AND_ASSIGN(std::string deactivated, p.CreateKey("to-deactivate"));
  ASSERT_OK_AND_ASSIGN(std::string compromised, p.CreateKey("to-compromise"));
  ASSERT_OK_AND_ASSIGN(std::string destroyed, p.CreateKey("to-destroy"));
  Revoke(*cluster_, deactivated, false);
  Revoke(*cluster_, compromised, true);
  Revoke(*cluster_, destroyed, false);
  SendRaw(*cluster_, 0, 0x14,
          {Ttlv::TextString(kmip::kUniqueIdentifier, destroyed)});

  EXPECT_EQ(*p.GetState(deactivated), kmip::KeyState::kDeactivated);
  ASSERT_OK(p.GetKey(deactivated).status());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0],
              HasSubstr("is Deactivated; using it to decrypt only"));
  EXPECT_EQ(p.GetKeyForSealing(deactivated).status().code(),
            absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(*p.GetState(compromised), kmip::KeyState::kCompromised);
  ASSERT_OK(p.GetKey(compromised).status());
  EXPECT_THAT(warnings.back(), HasSubstr("is Compromised"));

  // PyKMIP deletes a destroyed object; a server that keeps it answers
  // "Destroyed". Either way the key is refused, clearly.
  auto gone = p.GetKey(destroyed);
  EXPECT_FALSE(gone.ok());
  EXPECT_THAT(std::string(gone.status().message()),
              HasSubstr("keyID '" + destroyed + "'"));

  // The tool: seal refuses a key that is not Active (exit 3, says why).
  ToolResult r = RunTool({ToolPath("dumpcrypt"), "seal", "--kms", conf,
                          "--key-id", deactivated, "-", dir_->File("x.dce")},
                         "data");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("only an Active key may seal"));
  r = RunTool(
      {ToolPath("dumpcrypt"), "kms", "get-state", "--kms", conf, compromised});
  EXPECT_EQ(r.out, "Compromised\n");
}

// A KMS outage and a destroyed key are different causes: different errnos,
// key_status and log lines, from a real PyKMIP server.

}  // namespace
}  // namespace dumpcrypt::testing
