// VMware .ve envelopes: the real ESXi file of ../shared/testdata/vmware, and
// files written by an independent generator (make_ve.py, Python's AES-GCM).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>

#include "envelope/ve_envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

const std::string kSource = DUMPCRYPT_SOURCE_DIR;
const std::string kShared = kSource + "/../shared/testdata/vmware";
constexpr char kRealKey[] =
    "ae29634dca8627013f7c7cf2d05b4d5cc444d42cd4e8acbaa4fb815dda3b3066";
constexpr char kRealPayloadSha[] =
    "fe131620351b9fd5fc4aef219bf3211340f3742464c038e1695e7b6667f86952";

ToolResult Dumpcrypt(std::vector<std::string> args) {
  args.insert(args.begin(), ToolPath("dumpcrypt"));
  return RunTool(args);
}

std::string Sha256(const std::string& data) {
  return RunTool({"sha256sum"}, data).out.substr(0, 64);
}

class RealVeTest : public ::testing::Test {
 protected:
  void SetUp() override { DC_SKIP_WITHOUT_REAL_ESXI_FILES(kShared); }
  const std::string ve_ = kShared + "/local.tgz.ve";
  const std::string info_ = kShared + "/encryption.info";
};

TEST_F(RealVeTest, DescribeNeedsNoKey) {
  ToolResult r = Dumpcrypt({"describe", "--json", ve_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out).at(0);
  EXPECT_EQ(j["key_id"], "7e62cec5-6aef-4d7e-838b-cae32eefd251");
  EXPECT_EQ(j["cipher"], "AES-256-GCM");
  EXPECT_EQ(j["attributes"]["vmware.keyHash"],
            "7eaad9a3be03cbf5e092adc8ce04724f9b2a49785fba2533c56b7e26977b8c86");
  EXPECT_EQ(j["data_size"], 102400);
  EXPECT_EQ(j["footer_size"], 4096);
}

TEST_F(RealVeTest, ExtractWithTheHostKeyStoreAndWithTheRawKey) {
  for (auto keys : {std::vector<std::string>{"--vmware-keystore", info_},
                    std::vector<std::string>{"--key-hex", kRealKey}}) {
    std::vector<std::string> args = {"extract"};
    args.insert(args.end(), keys.begin(), keys.end());
    args.insert(args.end(), {ve_, "-"});
    ToolResult r = Dumpcrypt(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.size(), 94293u);
    EXPECT_EQ(Sha256(r.out), kRealPayloadSha);
  }
  ToolResult r = Dumpcrypt({"verify", "--vmware-keystore", info_, ve_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ESXConfiguration"));
}

TEST_F(RealVeTest, KeysFindsTheFileAndChecksItsKeyHash) {
  ToolResult r = Dumpcrypt({"keys", "--json", "--vmware-keystore", info_, ve_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto dump = nlohmann::json::parse(r.out)["dumps"].at(0);
  EXPECT_EQ(dump["format"], "vmware");
  EXPECT_EQ(dump["key_id"], "7e62cec5-6aef-4d7e-838b-cae32eefd251");
  EXPECT_EQ(dump["status"], "available");
  r = Dumpcrypt({"keys", "--key-hex", std::string(64, '7'), kShared});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, HasSubstr("wrong key"));
  EXPECT_THAT(r.out, HasSubstr("local.tgz.ve"));
  EXPECT_THAT(r.err, HasSubstr("does not match the file's keyHash"));
}

TEST_F(RealVeTest, WrongKeyIsExitThreeAndFlippedByteExitFour) {
  TempDir dir;
  ToolResult r = Dumpcrypt(
      {"extract", "--key-hex", std::string(64, '7'), ve_, dir.File("out")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("keyHash"));
  std::vector<uint8_t> bytes = ReadFileOrFail(ve_);
  bytes[4096 + 5000] ^= 0x01;
  WriteFileOrDie(dir.File("flipped.ve"), bytes);
  r = Dumpcrypt({"extract", "--vmware-keystore", info_, dir.File("flipped.ve"),
                 dir.File("out")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("ESXConfiguration"));
  EXPECT_NE(access(dir.File("out").c_str(), F_OK), 0);
}

class GeneratedVeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunTool({"/usr/bin/python3", "-c", "import cryptography"}).exit_code !=
        0) {
      GTEST_SKIP() << "needs /usr/bin/python3 with python3-cryptography";
    }
  }
  std::string Make(const std::vector<uint8_t>& payload, uint64_t offset,
                   const std::string& context,
                   const std::string& key_info = "key-1") {
    const std::string in = dir_.File("payload-" + std::to_string(n_));
    const std::string out = dir_.File("gen-" + std::to_string(n_++) + ".ve");
    WriteFileOrDie(in, payload);
    ToolResult r =
        RunTool({"/usr/bin/python3", kSource + "/tests/tools/make_ve.py",
                 "--key", ToHex(key_), "--iv", "0102030405060708090a0b0c",
                 "--key-info", key_info, "--context", context, "--offset",
                 std::to_string(offset), in, out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  TempDir dir_;
  std::vector<uint8_t> key_ = RandomBytes(32, 5);
  int n_ = 0;
};

TEST_F(GeneratedVeTest, EverySizeAndOffsetExtractsExactly) {
  for (uint64_t offset : {0ul, 4096ul}) {
    for (size_t size :
         {0ul, 1ul, 15ul, 4095ul, 4096ul, 4097ul, 100003ul, (1ul << 20) + 7}) {
      SCOPED_TRACE(::testing::Message()
                   << "offset " << offset << " size " << size);
      const std::vector<uint8_t> payload =
          RandomBytes(size, static_cast<uint32_t>(size + offset));
      const std::string ve = Make(payload, offset, "ESXConfiguration");
      ToolResult r = Dumpcrypt({"extract", "--key-hex", ToHex(key_), ve, "-"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(r.out == std::string(payload.begin(), payload.end()));
      // To a file, decryption and the tag check share one pass.
      const std::string out = dir_.File("out");
      r = Dumpcrypt({"extract", "--force", "--key-hex", ToHex(key_), ve, out});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(ReadFileOrFail(out) == payload);
    }
  }
}

// Extracting to a file reads the ciphertext once; to stdout (which cannot
// take bytes back) the tag is checked first, so it is read twice.
TEST_F(GeneratedVeTest, ExtractToAFileReadsTheFileOnce) {
  if (RunTool({"sh", "-c", "command -v strace"}).exit_code != 0)
    GTEST_SKIP() << "needs strace (Debian package strace)";
  const std::vector<uint8_t> payload = RandomBytes(3 << 20, 3);
  const std::string ve = Make(payload, 0, "ESXConfiguration");
  auto pread_bytes = [&](const std::string& output) {
    const std::string trace = dir_.File("trace");
    ToolResult r = RunTool(
        {"strace", "-f", "-qq", "-e", "trace=read,pread64,preadv", "-o", trace,
         // LeakSanitizer cannot run under ptrace (sanitizer builds).
         "env", "ASAN_OPTIONS=detect_leaks=0", ToolPath("dumpcrypt"), "extract",
         "--force", "--key-hex", ToHex(key_), ve, output});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(trace);
    uint64_t total = 0;
    for (std::string line; std::getline(in, line);) {
      const size_t eq = line.rfind("= ");
      if (eq != std::string::npos) total += std::stoull(line.substr(eq + 2));
    }
    return total;
  };
  const uint64_t once = payload.size();
  EXPECT_GE(pread_bytes(dir_.File("out")), once);
  EXPECT_LT(pread_bytes(dir_.File("out")), once + once / 4);
  EXPECT_GE(pread_bytes("-"), 2 * once);
  EXPECT_TRUE(ReadFileOrFail(dir_.File("out")) == payload);
}

TEST_F(GeneratedVeTest, RandomRangesOfTheViewMatch) {
  const std::vector<uint8_t> payload = RandomBytes(300001, 9);
  const std::string ve = Make(payload, 4096, "ESXConfiguration");
  auto fd = OpenReadOnly(ve);
  ASSERT_TRUE(fd.ok());
  ASSERT_OK_AND_ASSIGN(VeHeader header, ReadVeHeader(fd->get()));
  EXPECT_EQ(header.offset, 4096u);
  ASSERT_OK_AND_ASSIGN(auto reader,
                       VeReader::Open(std::move(fd).value(), header,
                                      SecretBytes::CopyOf(key_), OpenPolicy()));
  EXPECT_EQ(reader->size(), 4096 + payload.size());
  EXPECT_EQ(*reader->verified_context(), "ESXConfiguration");
  std::vector<uint8_t> view = ReadFileOrFail(ve);
  view.resize(4096);  // the cleartext prefix
  view.insert(view.end(), payload.begin(), payload.end());
  std::mt19937_64 gen(3);
  std::vector<uint8_t> buf(70000);
  for (int i = 0; i < 300; ++i) {
    const uint64_t off = gen() % view.size();
    const size_t len = 1 + gen() % buf.size();
    ASSERT_OK_AND_ASSIGN(size_t got,
                         reader->ReadAt(off, absl::MakeSpan(buf.data(), len)));
    ASSERT_EQ(got, std::min<size_t>(len, view.size() - off));
    ASSERT_TRUE(std::equal(buf.begin(), buf.begin() + got, view.begin() + off))
        << off << "+" << len;
  }
}

TEST_F(GeneratedVeTest, ContextsAreTriedAndCanBeAdded) {
  const std::vector<uint8_t> payload = RandomBytes(5000, 1);
  const std::string ve = Make(payload, 0, "VMX core");
  ToolResult r =
      Dumpcrypt({"extract", "--key-hex", ToHex(key_), ve, dir_.File("out")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("ESXConfiguration"));
  r = Dumpcrypt({"extract", "--key-hex", ToHex(key_), "--context", "other",
                 "--context", "VMX core", ve, "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == std::string(payload.begin(), payload.end()));
}

TEST_F(GeneratedVeTest, LocatorKeyInfoFindsTheKeyInAKeyStore) {
  const std::vector<uint8_t> payload = RandomBytes(7000, 2);
  const std::string ve = Make(payload, 4096, "ESXConfiguration",
                              "vmware:key/list/(pair/(fqid/<VMWARE-NULL>/"
                              "kms%2da/abc%2d123,HMAC%2dSHA%2d256,x))");
  ToolResult r = Dumpcrypt({"describe", "--json", ve});
  auto j = nlohmann::json::parse(r.out).at(0);
  EXPECT_EQ(j["key_id"], "abc-123");
  EXPECT_EQ(j["provider"], "kms-a");
  EXPECT_EQ(j["offset"], 4096);
  const std::string ks = dir_.File("ks");
  ASSERT_EQ(RunTool({ToolPath("dumpcrypt"), "keystore", "add", "--keystore", ks,
                     "--key-id", "abc-123", "--key-hex", ToHex(key_)})
                .exit_code,
            0);
  r = Dumpcrypt({"extract", "--keystore", ks, ve, "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == std::string(payload.begin(), payload.end()));
}

TEST_F(GeneratedVeTest, DescribeJsonIsValidForAttributesThatAreNotUtf8) {
  const std::string ve =
      Make(RandomBytes(100, 3), 0, "ESXConfiguration", "key-\xff\xfe");
  ToolResult r = Dumpcrypt({"describe", "--json", ve});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out).at(0);
  EXPECT_EQ(j["key_info"], "key-\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(j["attributes"]["vmware.keyInfo"], j["key_info"]);
}

}  // namespace
}  // namespace dumpcrypt::testing
