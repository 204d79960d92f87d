#include "kms/kms_config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class KmsConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<KmsConfig> Load(const std::string& text) {
    std::ofstream(path_, std::ios::binary) << text;
    return LoadKmsConfig(path_);
  }
  testing::TempDir dir_;
  const std::string path_ = dir_.File("kms.toml");
};

TEST_F(KmsConfigTest, ReadsProvidersAndResolvesPathsFromItsFolder) {
  auto config = Load(
      "[[provider]]\nname = \"a\"\nservers = [\"10.0.0.1:5696\", "
      "\"[::1]:15696\"]\nca_file = \"ca.crt\"\ncert_file = \"/etc/c.crt\"\n"
      "key_file = \"k.key\"\nio_timeout_ms = 250\n"
      "retry_hung_after_ms = 4000\n"
      "[[provider]]\nname = \"b\"\nservers = [\"h:1\"]\nca_file = \"x\"\n"
      "cert_file = \"y\"\nkey_file = \"z\"\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->default_provider, "a");  // the first, unless named
  ASSERT_EQ(config->providers.size(), 2u);
  const ProviderConfig& a = config->providers[0];
  ASSERT_EQ(a.servers.size(), 2u);
  EXPECT_EQ(a.servers[0].ToString(), "10.0.0.1:5696");
  EXPECT_EQ(a.servers[1].host, "::1");
  EXPECT_EQ(a.ca_file, dir_.File("ca.crt"));
  EXPECT_EQ(a.cert_file, "/etc/c.crt");
  EXPECT_EQ(a.io_timeout, absl::Milliseconds(250));
  EXPECT_EQ(a.retry_hung_after, absl::Seconds(4));
  EXPECT_EQ(config->providers[1].retry_hung_after, absl::Seconds(30));
}

TEST_F(KmsConfigTest, ErrorsNameFileLineAndKey) {
  auto config = Load("[[provider]]\nname = \"x\"\nservers = [\"nohost\"]\n");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path_ + ":3: servers"));
  EXPECT_THAT(std::string(Load("[[provider]]\nname = \"x\"\nservers = "
                               "[\"h:1\"]\nca_file=\"a\"\ncert_file=\"b\"\n"
                               "key_file=\"c\"\ntimeout = 3\n")
                              .status()
                              .message()),
              HasSubstr(":7: timeout: unknown key"));
  EXPECT_THAT(
      std::string(Load("default_provider = \"a\"\n").status().message()),
      HasSubstr("no [[provider]] table"));
}

// Found by tests/fuzz/kms_config_fuzzer.cc: toml++ 3.3 asserted on this
// (a table header cut by a newline) in debug builds.
TEST_F(KmsConfigTest, AProviderNamedTwiceIsAnError) {
  const std::string entry =
      "[[provider]]\nname = \"a\"\nservers = [\"h:1\"]\nca_file = \"x\"\n"
      "cert_file = \"y\"\nkey_file = \"z\"\n";
  auto config = Load(entry + entry);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path_ + ":7: name: provider 'a' is already defined "
                                "at line 1"));
}

TEST_F(KmsConfigTest, MalformedTomlIsAnErrorNotACrash) {
  auto config = Load("[\nA500\n\"F\x1d");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path_ + ":1"));
}

// Also found by the fuzzer: toml++ 3.3 reaches __builtin_unreachable on
// some non-ASCII characters, so the configuration is ASCII only.
TEST_F(KmsConfigTest, NonAsciiIsRefusedWithItsLine) {
  auto config = Load("# ok\n[proame \xc3\x8d [");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path_ + ":2: only ASCII is accepted"));
}

TEST_F(KmsConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadKmsConfig(dir_.File("none.toml")).status().code(),
            absl::StatusCode::kNotFound);
}

// A source that always fails with `status`.
class FailingResolver : public KeyResolver {
 public:
  explicit FailingResolver(absl::Status status) : status_(std::move(status)) {}
  absl::StatusOr<SecretBytes> Resolve(const KeyRef&) override {
    return status_;
  }
  std::string Describe() const override { return "failing"; }

 private:
  const absl::Status status_;
};

std::unique_ptr<KeyResolver> Failing(absl::Status status) {
  return std::make_unique<FailingResolver>(std::move(status));
}

TEST(ChainResolverTest, AKeyNoSourceHasNamesEverySourcesCause) {
  std::vector<std::unique_ptr<KeyResolver>> sources;
  sources.push_back(Failing(absl::NotFoundError("not in key store ks")));
  sources.push_back(
      Failing(absl::UnavailableError("no server answered Get of keyID 'k'")));
  ChainResolver chain(std::move(sources));
  auto key = chain.Resolve({"p", "k"});
  // The KMS that could not be reached may have it: a retry may help.
  EXPECT_EQ(key.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(
      std::string(key.status().message()),
      AllOf(HasSubstr("not in key store ks"), HasSubstr("no server answered")));

  sources.clear();
  sources.push_back(Failing(absl::NotFoundError("not in key store ks")));
  sources.push_back(Failing(absl::PermissionDeniedError("refused")));
  ChainResolver refused(std::move(sources));
  key = refused.Resolve({"p", "k"});
  // A refusal says more than "not here": it is the code.
  EXPECT_EQ(key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(key.status().message()),
              AllOf(HasSubstr("not in key store ks"), HasSubstr("refused")));
}

}  // namespace
}  // namespace dumpcrypt
