// A kdump kernel's `makedumpfile -F ... | dumpcrypt seal - OUT`: the
// flattened stream is sealed as it comes, and extract, the independent
// reader and the mount (page cache or direct_io) all show the file that
// `makedumpfile -R` would have written in plaintext.
#include <sys/stat.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fs/mount_fixture.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kKekHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

void PutBe64(std::string* out, int64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// FlattenedStream is shaped as makedumpfile -F writes one: the header, the
// dump's pages in order, then the headers and bitmaps written again over
// the start of the file, then the end record.
std::string FlattenedStream(bool end) {
  std::mt19937 rng(11);
  std::string s = "makedumpfile";
  s.resize(16, '\0');
  PutBe64(&s, 1);
  PutBe64(&s, 1);
  s.resize(4096, '\0');
  auto record = [&](int64_t offset, size_t size) {
    PutBe64(&s, offset);
    PutBe64(&s, static_cast<int64_t>(size));
    for (size_t i = 0; i < size; ++i) s.push_back(static_cast<char>(rng()));
  };
  record(0, 8192);  // a disk_dump_header and sub-header, first draft
  int64_t at = 3 * 4096;
  for (int page = 0; page < 1500; ++page) {
    const size_t size = 200 + rng() % 3900;  // compressed pages
    record(at, size);
    at += size + (rng() % 4 == 0 ? 4096 : 0);  // and holes
  }
  record(0, 4096);         // the header, final
  record(4096, 2 * 4096);  // the bitmaps
  if (end) {
    PutBe64(&s, -1);
    PutBe64(&s, -1);
  }
  return s;
}

class KdumpFlattenedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunTool({"makedumpfile", "--version"}).exit_code == 127) {
      GTEST_SKIP() << "needs makedumpfile (scripts/deps installs it)";
    }
  }
  ToolResult Run(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), ToolPath("dumpcrypt"));
    return RunTool(args, in);
  }
  std::string ReadText(const std::string& path) {
    const std::vector<uint8_t> b = ReadFileOrFail(path);
    return std::string(b.begin(), b.end());
  }

  TempDir dir_;
  const std::string src_ = dir_.File("src");
};

TEST_F(KdumpFlattenedTest, EveryReaderShowsWhatMakedumpfileRearrangeWrites) {
  const std::string stream = FlattenedStream(/*end=*/true);
  ToolResult r = RunTool({"makedumpfile", "-R", dir_.File("vmcore")}, stream);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string want = ReadText(dir_.File("vmcore"));
  ASSERT_GT(want.size(), 3u << 20);

  ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  const std::string sealed = src_ + "/vmcore.dce";
  r = Run({"seal", "--key-hex", kKekHex, "--key-id", "host", "--type",
           "vmkernel", "-", sealed},
          stream);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"describe", "--json", sealed});
  const nlohmann::json d = nlohmann::json::parse(r.out)[0];
  EXPECT_EQ(d["layout"], "makedumpfile-flattened");
  EXPECT_EQ(d["size"], want.size());
  EXPECT_EQ(d["plaintext_length"], stream.size());
  r = Run({"describe", sealed});
  EXPECT_THAT(r.out, HasSubstr("what makedumpfile -R would write"));

  r = Run({"extract", "--key-hex", kKekHex, sealed, "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == want) << "extract differs";
  r = Run({"verify", "--key-hex", kKekHex, sealed});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (RunTool({"/usr/bin/python3", "-c", "import cryptography"}).exit_code ==
      0) {
    r = RunTool({"/usr/bin/python3",
                 std::string(DUMPCRYPT_SOURCE_DIR) +
                     "/tests/tools/independent_reader.py",
                 "--kek", kKekHex, sealed});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out == want) << "the independent reader differs";
  }

  std::string why;
  if (!FuseUsable(&why)) GTEST_SKIP() << why;
  const std::string mnt = dir_.File("mnt");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  r = Run({"keystore", "add", "--keystore", dir_.File("ks"), "--key-id", "host",
           "--key-hex", kKekHex});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{}, std::vector<std::string>{"direct_io"}}) {
    SCOPED_TRACE(options.empty() ? "page cache" : "direct_io");
    std::vector<std::string> all = options;
    all.push_back("keystore=" + dir_.File("ks"));
    auto mount = Mount::Start(src_, mnt, all, dir_.File("daemon.log"));
    ASSERT_TRUE(mount.ok()) << mount.status();
    struct stat st;
    ASSERT_EQ(stat((mnt + "/vmcore").c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), want.size());
    EXPECT_TRUE(ReadText(mnt + "/vmcore") == want) << "the mount differs";
  }
}

TEST_F(KdumpFlattenedTest, AStreamWithoutItsEndIsSealedAndMarkedTruncated) {
  std::string stream = FlattenedStream(/*end=*/false);
  stream.resize(stream.size() - 5000);
  const std::string sealed = dir_.File("cut.dce");
  ToolResult r = Run(
      {"seal", "--key-hex", kKekHex, "--key-id", "host", "-", sealed}, stream);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("flattened stream has no end record"));
  r = Run({"describe", "--json", sealed});
  const nlohmann::json d = nlohmann::json::parse(r.out)[0];
  EXPECT_EQ(d["layout"], "makedumpfile-flattened");
  EXPECT_EQ(d["dump"]["truncated"], true);
  r = Run({"extract", "--key-hex", kKekHex, sealed, "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), d["size"].get<uint64_t>());
  // Not a flattened stream: sealed and shown as it is.
  r = Run({"seal", "--key-hex", kKekHex, "--key-id", "host", "-",
           dir_.File("plain.dce")},
          "makedumpfile but not flattened");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Run({"describe", "--json", dir_.File("plain.dce")});
  EXPECT_TRUE(nlohmann::json::parse(r.out)[0]["layout"].is_null());
}

}  // namespace
}  // namespace dumpcrypt::testing
