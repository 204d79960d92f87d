// Shared set-up of the tests against real PyKMIP servers: two servers
// seeded with the same keys ("1".."3"; the second also "4".."10"), and for
// mount tests a source folder, a mountpoint and a mount.
#ifndef DUMPCRYPT_TESTS_KMS_KMIP_TEST_BASE_H_
#define DUMPCRYPT_TESTS_KMS_KMIP_TEST_BASE_H_

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms/kmip_connection.h"
#include "kms/kms_config.h"
#include "tests/fs/mount_fixture.h"
#include "tests/kms/pykmip_fixture.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {

// Seeded on both servers in this order, so they get ids "1", "2", "3".
inline std::vector<uint8_t> SeedKey(int i) { return RandomBytes(32, 1000 + i); }

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

  static inline TempDir* dir_ = nullptr;
  static inline PyKmipCluster* cluster_ = nullptr;
  static inline std::string skip_;
  bool running_[2] = {true, true};
};

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
  static inline int counter_ = 0;
  std::string src_, mnt_;
  std::unique_ptr<testing::Mount> mount_;
};

// Revoke and Destroy are not dumpcrypt operations: the test sends them as
// raw KMIP requests to move keys through their states.
inline void SendRaw(const PyKmipCluster& cluster, int server,
                    uint32_t operation, std::vector<Ttlv> payload) {
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

inline void Revoke(const PyKmipCluster& cluster, const std::string& id,
                   bool compromised) {
  std::vector<Ttlv> payload = {
      Ttlv::TextString(kmip::kUniqueIdentifier, id),
      Ttlv::Structure(0x420081,
                      {Ttlv::Enumeration(0x420082, compromised ? 2 : 1)})};
  if (compromised) payload.push_back(Ttlv::DateTime(0x420021, 1));
  SendRaw(cluster, 0, 0x13, std::move(payload));
}

}  // namespace dumpcrypt::testing

#endif  // DUMPCRYPT_TESTS_KMS_KMIP_TEST_BASE_H_
