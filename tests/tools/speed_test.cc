// `dumpcrypt speed` measures every primitive on every back end usable here
// and names the one the tools use.
#include "crypto/backend.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

TEST(SpeedTest, EveryPrimitiveOnEveryUsableBackEnd) {
  ToolResult r =
      RunTool({ToolPath("dumpcrypt"), "speed", "--seconds", "0.01", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["used"], BackendName(*ChosenBackend(CryptoBackend::kDefault)));
  const std::vector<CryptoBackend> backends = UsableBackends();
  ASSERT_EQ(j["results"].size(), 4 * backends.size()) << r.out;
  for (size_t i = 0; i < j["results"].size(); ++i) {
    const nlohmann::json& result = j["results"][i];
    EXPECT_EQ(result["backend"], BackendName(backends[i / 4])) << result;
    EXPECT_GT(result["mb_per_s"].get<double>(), 1.0) << result;
  }
  r = RunTool({ToolPath("dumpcrypt"), "speed", "--seconds", "0.01"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("AES-256-XTS decrypt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("* used by the tools here: "), std::string::npos);
  r = RunTool({ToolPath("dumpcrypt"), "speed", "--seconds", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(SpeedTest, DumpcryptCryptoPicksTheBackEnd) {
  const ToolResult r =
      RunTool({"env", "DUMPCRYPT_CRYPTO=openssl", ToolPath("dumpcrypt"),
               "speed", "--seconds", "0.01", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["used"], "openssl");
}

}  // namespace
}  // namespace dumpcrypt::testing
