// docs/FORMAT.md is precise enough to write a reader from: a Python reader
// written from it alone (independent_reader.py, Python `cryptography`)
// decrypts what the C++ writer seals, and the documented example.
#include "crypto/public_key.h"
#include "envelope/file_keys.h"
#include "envelope/rekey.h"
#include "gtest/gtest.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

const std::string kSourceDir = DUMPCRYPT_SOURCE_DIR;

ToolResult RunReader(const std::string& kek_hex, const std::string& file) {
  return RunTool({"/usr/bin/python3",
                  kSourceDir + "/tests/tools/independent_reader.py", "--kek",
                  kek_hex, file});
}

class IndependentReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunTool({"/usr/bin/python3", "-c", "import cryptography"}).exit_code !=
        0) {
      GTEST_SKIP() << "needs /usr/bin/python3 with python3-cryptography";
    }
  }
};

TEST_F(IndependentReaderTest, ReadsTheDocumentedExample) {
  ToolResult r = RunReader(
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
      kSourceDir + "/docs/example/example.dce");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "CLEARTEXT-PREFIXsecret core dump bytes\n");
}

TEST_F(IndependentReaderTest, ReadsWhatTheWriterSeals) {
  TempDir dir;
  const std::vector<uint8_t> kek = RandomBytes(32, 7);
  struct Case {
    uint32_t sector, prefix;
    bool integrity;
    size_t length;
  } cases[] = {{4096, 0, true, 0},      {4096, 0, true, 100000},
               {512, 4096, true, 7777}, {65536, 1, false, 200000},
               {1024, 33, false, 1024}, {16384, 0, true, 16385}};
  for (const Case& c : cases) {
    SealOptions options;
    options.sector_size = c.sector;
    options.prefix_bytes = c.prefix;
    options.integrity = c.integrity;
    const std::vector<uint8_t> input =
        RandomBytes(c.prefix + c.length, c.sector + c.length);
    const std::string path = dir.File("f" + std::to_string(c.sector) + "-" +
                                      std::to_string(c.length));
    ASSERT_OK(SealBuffer(path, input, options, SecretBytes::CopyOf(kek),
                         {"prov", "key"}));
    ToolResult r = RunReader(ToHex(kek), path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out == std::string(input.begin(), input.end()))
        << "sector " << c.sector << " length " << c.length;
  }
}

TEST_F(IndependentReaderTest, AgreesOnWrongKeysAndDamage) {
  TempDir dir;
  const std::vector<uint8_t> kek = RandomBytes(32, 7);
  const std::string path = dir.File("d");
  ASSERT_OK(SealBuffer(path, RandomBytes(20000, 1), SealOptions(),
                       SecretBytes::CopyOf(kek)));
  EXPECT_EQ(RunReader(ToHex(RandomBytes(32, 8)), path).exit_code, 3);
  std::vector<uint8_t> bytes = ReadFileOrFail(path);
  bytes[4096 + 2 * (4096 + 16) + 9] ^= 1;
  WriteFileOrDie(path, bytes);
  ToolResult r = RunReader(ToHex(kek), path);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("sector 2 "), std::string::npos) << r.err;
}

// A file whose slots are an unknown kind, then a password, an X25519 and an
// RSA-OAEP recipient: the Python reader opens it with each secret alone.
TEST_F(IndependentReaderTest, OpensEverySlotKindAndSkipsUnknownOnes) {
  if (RunTool({"/usr/bin/python3", "-c", "import argon2"}).exit_code != 0) {
    GTEST_SKIP() << "needs /usr/bin/python3 with python3-argon2";
  }
  TempDir dir;
  const std::vector<uint8_t> input = RandomBytes(50000, 3);
  const SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 4));
  const std::string path = dir.File("d");
  ASSERT_OK(SealBuffer(path, input, SealOptions(), kek));
  ASSERT_OK_AND_ASSIGN(PrivateKey x, PrivateKey::Generate(KeyType::kX25519));
  ASSERT_OK_AND_ASSIGN(PrivateKey r, PrivateKey::Generate(KeyType::kRsa, 2048));
  for (const auto& [name, key] :
       std::vector<std::pair<std::string, const PrivateKey*>>{{"x.pem", &x},
                                                              {"r.pem", &r}}) {
    ASSERT_OK_AND_ASSIGN(SecretBytes pem, key->Pem());
    WriteFileOrDie(dir.File(name), pem.span());
  }
  WriteFileOrDie(dir.File("pw"), std::vector<uint8_t>{'p', 'w', '\n'});
  ASSERT_OK_AND_ASSIGN(PasswordKdf kdf, NewPasswordKdf({1, 64, 1}));
  ASSERT_OK_AND_ASSIGN(SecretBytes pw_kek, PasswordKek(AsBytes("pw"), kdf));
  class OneKey : public KeyResolver {
   public:
    explicit OneKey(const SecretBytes& k) : k_(k) {}
    absl::StatusOr<SecretBytes> Resolve(const KeyRef&) override {
      return k_.Clone();
    }
    std::string Describe() const override { return "one key"; }
    const SecretBytes& k_;
  } one(kek);
  ASSERT_OK(RekeyEnvelope(
                path, one,
                [&](const std::vector<KeySlot>&, const SecretBytes& dk)
                    -> absl::StatusOr<std::vector<KeySlot>> {
                  std::vector<KeySlot> slots(1);
                  slots[0].kind = 200;
                  slots[0].unknown = {1, 2, 3};
                  for (auto made : {MakePasswordSlot(kdf, pw_kek, dk),
                                    MakeRecipientSlot(x.public_key(), dk),
                                    MakeRecipientSlot(r.public_key(), dk)}) {
                    if (!made.ok()) return made.status();
                    slots.push_back(*made);
                  }
                  return slots;
                })
                .status());
  const std::string reader = kSourceDir + "/tests/tools/independent_reader.py";
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"--password-file", dir.File("pw")},
           {"--identity", dir.File("x.pem")},
           {"--identity", dir.File("r.pem")}}) {
    ToolResult got = RunTool({"/usr/bin/python3", reader, flag, value, path});
    ASSERT_EQ(got.exit_code, 0) << flag << " " << value << ": " << got.err;
    EXPECT_TRUE(got.out == std::string(input.begin(), input.end())) << value;
  }
  EXPECT_EQ(RunReader(ToHex(kek.span()), path).exit_code, 3);
}

}  // namespace
}  // namespace dumpcrypt::testing

namespace dumpcrypt::testing {
namespace {

TEST(DocumentedExampleTest, CppReaderOpensIt) {
  SecretBytes kek = SecretFromHex(
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  ASSERT_OK_AND_ASSIGN(
      auto reader, OpenWithKek(kSourceDir + "/docs/example/example.dce", kek));
  ASSERT_OK_AND_ASSIGN(auto view, ReadAll(*reader));
  EXPECT_EQ(std::string(view.begin(), view.end()),
            "CLEARTEXT-PREFIXsecret core dump bytes\n");
  EXPECT_EQ(reader->header().primary_key(), (KeyRef{"kms-a", "example-key"}));
  EXPECT_EQ(reader->header().header_length, 247u);
  EXPECT_EQ(reader->header().metadata.world, "hostd");
}

}  // namespace
}  // namespace dumpcrypt::testing
