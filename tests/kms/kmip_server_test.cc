// KMIP against real PyKMIP servers: Get/Locate/Create/Register, failover
// (refused, hung), not found, wrong CA, lazy fetching through the mount,
// all servers down, and `dumpcrypt keys`.
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
#include "tests/kms/pykmip_fixture.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Seeded on both servers in this order, so they get ids "1", "2", "3".
std::vector<uint8_t> SeedKey(int i) { return RandomBytes(32, 1000 + i); }

class KmipServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto cluster = PyKmipCluster::Start(dir_->path(), 2);
    if (!cluster.ok()) {
      skip_ = std::string(cluster.status().message());
      return;
    }
    cluster_ = cluster->release();
    for (int server = 0; server < 2; ++server) {
      auto provider = Provider(cluster_->WriteConfig(
          "seed.toml", "kms-a", {cluster_->Address(server)}));
      // The second server also gets 4..10, which the first never has (the
      // first server's own ids grow only with the few keys tests create).
      for (int k = 1; k <= (server == 1 ? 10 : 3); ++k) {
        auto id = provider->RegisterKey("seed-" + std::to_string(k),
                                        SecretBytes::CopyOf(SeedKey(k)));
        ASSERT_TRUE(id.ok()) << id.status();
        ASSERT_EQ(*id, std::to_string(k));
      }
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete dir_;
  }
  void SetUp() override {
    if (cluster_ == nullptr) GTEST_SKIP() << skip_;
  }
  void TearDown() override {
    if (cluster_ == nullptr) return;
    for (int i = 0; i < 2; ++i) {
      cluster_->Resume(i);
      if (!running_[i]) {
        ASSERT_TRUE(cluster_->StartServer(i).ok());
        running_[i] = true;
      }
    }
  }
  void Stop(int i) {
    cluster_->StopServer(i);
    running_[i] = false;
  }

  static std::unique_ptr<KmipProvider> Provider(
      const std::string& config_path) {
    auto config = LoadKmsConfig(config_path);
    EXPECT_TRUE(config.ok()) << config.status();
    auto provider = KmipProvider::Create(config->providers[0], nullptr);
    EXPECT_TRUE(provider.ok()) << provider.status();
    return std::move(provider).value();
  }
  std::string Both() const {
    return cluster_->WriteConfig("both.toml", "kms-a",
                                 {cluster_->Address(0), cluster_->Address(1)});
  }
  int Gets() const {
    return cluster_->CountOperation(0, "Get") +
           cluster_->CountOperation(1, "Get");
  }
  int Requests() const {
    return cluster_->CountRequests(0) + cluster_->CountRequests(1);
  }

  static TempDir* dir_;
  static PyKmipCluster* cluster_;
  static std::string skip_;
  bool running_[2] = {true, true};
};

TempDir* KmipServerTest::dir_ = nullptr;
PyKmipCluster* KmipServerTest::cluster_ = nullptr;
std::string KmipServerTest::skip_;

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

class KmipMountTest : public KmipServerTest {
 protected:
  void SetUp() override {
    KmipServerTest::SetUp();
    if (IsSkipped()) return;
    std::string why;
    if (!FuseUsable(&why)) GTEST_SKIP() << why;
    src_ = dir_->File("src-" + std::to_string(counter_));
    mnt_ = dir_->File("mnt-" + std::to_string(counter_++));
    mkdir(src_.c_str(), 0755);
    mkdir(mnt_.c_str(), 0755);
  }
  void TearDown() override {
    mount_.reset();
    KmipServerTest::TearDown();
  }
  void Mount(const std::string& conf, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), "kms=" + conf);
    auto mount = Mount::Start(src_, mnt_, extra, dir_->File("daemon.log"));
    ASSERT_TRUE(mount.ok()) << mount.status();
    mount_ = std::move(mount).value();
  }
  static int counter_;
  std::string src_, mnt_;
  std::unique_ptr<testing::Mount> mount_;
};
int KmipMountTest::counter_ = 0;

TEST_F(KmipMountTest, KeysAreFetchedLazilyOncePerKey) {
  std::vector<uint8_t> data = RandomBytes(10000, 1);
  for (int i = 0; i < 20; ++i) {
    const int k = i % 3 + 1;
    ASSERT_TRUE(SealBuffer(src_ + "/dump" + std::to_string(i) + ".dce", data,
                           SealOptions(), SecretBytes::CopyOf(SeedKey(k)),
                           {"kms-a", std::to_string(k)})
                    .ok());
  }
  const int before = Gets();
  const int requests_before = Requests();
  Mount(Both());
  EXPECT_EQ(RunTool({"ls", "-l", mnt_}).exit_code, 0);
  EXPECT_EQ(RunTool({"find", mnt_, "-type", "f"}).exit_code, 0);
  EXPECT_EQ(Gets(), before);  // no KMIP request to list
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(ReadFileOrFail(mnt_ + "/dump" + std::to_string(i)) == data)
        << i;
  EXPECT_EQ(Gets() - before, 3);
  EXPECT_EQ(Requests() - requests_before, 3);  // state and key in one each
}

TEST_F(KmipMountTest, AllServersDownThenBack) {
  std::vector<uint8_t> data = RandomBytes(10000, 2);
  ASSERT_TRUE(SealBuffer(src_ + "/core.dce", data, SealOptions(),
                         SecretBytes::CopyOf(SeedKey(1)), {"kms-a", "1"})
                  .ok());
  Stop(0);
  Stop(1);
  Mount(Both(), {"negative_ttl=1"});
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/core").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10000);
  const absl::Time start = absl::Now();
  EXPECT_EQ(open((mnt_ + "/core").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EHOSTDOWN);  // an outage, not a missing key
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(cluster_->StartServer(0).ok());
  running_[0] = true;
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
}

}  // namespace
}  // namespace dumpcrypt::testing

namespace dumpcrypt::testing {
namespace {

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

// Revoke and Destroy are not dumpcrypt operations: the test sends them as
// raw KMIP requests to move keys through their states.
void SendRaw(const PyKmipCluster& cluster, int server, uint32_t operation,
             std::vector<Ttlv> payload) {
  auto ctx = MakeKmipTlsContext(cluster.dir() + "/ca.crt",
                                cluster.dir() + "/client.crt",
                                cluster.dir() + "/client.key");
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto conn =
      KmipConnection::Connect(ctx->get(), "127.0.0.1", cluster.port(server),
                              absl::Seconds(2), absl::Seconds(5));
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto reply = (*conn)->Call(kmip::Request(
      static_cast<kmip::Operation>(operation), std::move(payload)));
  ASSERT_TRUE(reply.ok()) << reply.status();
  auto parsed =
      kmip::ParseResponse(*reply, static_cast<kmip::Operation>(operation));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->status, 0u) << parsed->message;
}

void Revoke(const PyKmipCluster& cluster, const std::string& id,
            bool compromised) {
  std::vector<Ttlv> payload = {
      Ttlv::TextString(kmip::kUniqueIdentifier, id),
      Ttlv::Structure(0x420081,
                      {Ttlv::Enumeration(0x420082, compromised ? 2 : 1)})};
  if (compromised) payload.push_back(Ttlv::DateTime(0x420021, 1));
  SendRaw(cluster, 0, 0x13, std::move(payload));
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
TEST_F(KmipMountTest, OutageIsNotAMissingKey) {
  const std::string conf =
      cluster_->WriteConfig("one.toml", "kms-a", {cluster_->Address(0)});
  std::string destroyed, kept;
  {
    auto config = LoadKmsConfig(conf);
    ASSERT_TRUE(config.ok());
    auto provider = KmipProvider::Create(config->providers[0], nullptr);
    ASSERT_TRUE(provider.ok());
    ASSERT_OK_AND_ASSIGN(destroyed, (*provider)->CreateKey("to-destroy"));
    ASSERT_OK_AND_ASSIGN(kept, (*provider)->CreateKey("kept"));
  }
  for (const std::string& id : {destroyed, kept}) {
    ToolResult r = RunTool({ToolPath("dumpcrypt"), "seal", "--kms", conf,
                            "--key-id", id, "-", src_ + "/" + id + ".dce"},
                           "core bytes");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Revoke(*cluster_, destroyed, false);
  SendRaw(*cluster_, 0, 0x14,
          {Ttlv::TextString(kmip::kUniqueIdentifier, destroyed)});
  Mount(conf);
  auto key_status = [&](const std::string& name) {
    char value[512] = {};
    const ssize_t n =
        getxattr((mnt_ + "/" + name).c_str(), "user.dumpcrypt.key_status",
                 value, sizeof(value) - 1);
    return n < 0 ? std::string("getxattr failed") : std::string(value, n);
  };
  EXPECT_EQ(open((mnt_ + "/" + destroyed).c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOKEY);
  EXPECT_THAT(key_status(destroyed), StartsWith("missing: "));

  Stop(0);
  EXPECT_EQ(open((mnt_ + "/" + kept).c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EHOSTDOWN);
  EXPECT_THAT(key_status(kept), StartsWith("unreachable: "));
  // The CLI: exit 3 for both, each with its cause.
  ToolResult r = RunTool({ToolPath("dumpcrypt"), "keys", "--kms", conf, src_});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, HasSubstr("provider unreachable"));

  const std::vector<uint8_t> log = ReadFileOrFail(dir_->File("daemon.log"));
  const std::string text(log.begin(), log.end());
  EXPECT_THAT(text, HasSubstr(destroyed + ".dce: keyID '" + destroyed));
  EXPECT_THAT(text, HasSubstr(kept + ".dce: keyID '" + kept));
}

}  // namespace
}  // namespace dumpcrypt::testing
