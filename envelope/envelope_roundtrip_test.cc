// Seal then read back: every sector size, lengths around sector edges,
// with and without a cleartext prefix and integrity tags.
#include <dirent.h>

#include <atomic>
#include <random>
#include <thread>

#include "envelope/envelope_reader.h"
#include "envelope/envelope_writer.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::OpenWithKek;
using testing::RandomBytes;
using testing::ReadAll;
using testing::SealBuffer;
using testing::TempDir;

struct Config {
  uint32_t sector;
  uint32_t prefix;
  bool integrity;
};

class RoundTripTest : public ::testing::TestWithParam<Config> {
 protected:
  SecretBytes kek_ = SecretBytes::CopyOf(RandomBytes(32, 99));
  TempDir dir_;
};

TEST_P(RoundTripTest, EveryLengthReadsBackExactly) {
  const Config c = GetParam();
  const uint64_t s = c.sector;
  for (uint64_t len : {0ul, 1ul, 15ul, 16ul, 17ul, s - 1, s, s + 1, 3 * s + 5,
                       (3ul << 20) + 123}) {
    SCOPED_TRACE(::testing::Message() << "length " << len);
    const std::vector<uint8_t> input = RandomBytes(c.prefix + len, len + 1);
    SealOptions options;
    options.sector_size = c.sector;
    options.prefix_bytes = c.prefix;
    options.integrity = c.integrity;
    const std::string path = dir_.File("dump-" + std::to_string(len));
    // Odd chunk sizes exercise the writer's batching across sector edges.
    ASSERT_OK(SealBuffer(path, input, options, kek_, {"p", "k"}, 4099));
    ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path, kek_));
    EXPECT_EQ(reader->size(), input.size());
    EXPECT_EQ(reader->header().prefix_length, c.prefix);
    EXPECT_EQ(reader->header().plaintext_length, len);
    ASSERT_OK_AND_ASSIGN(auto output, ReadAll(*reader, 1 << 20));
    EXPECT_TRUE(output == input);
    ASSERT_OK_AND_ASSIGN(output, ReadAll(*reader, 3 * s / 2 + 1));
    EXPECT_TRUE(output == input);
    std::vector<uint8_t> past(10);
    ASSERT_OK_AND_ASSIGN(size_t got,
                         reader->ReadAt(input.size(), absl::MakeSpan(past)));
    EXPECT_EQ(got, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllSectorSizes, RoundTripTest,
    ::testing::Values(Config{512, 0, true}, Config{1024, 0, true},
                      Config{2048, 100, true}, Config{4096, 0, true},
                      Config{4096, 4096, true}, Config{4096, 0, false},
                      Config{4096, 4096, false}, Config{8192, 0, true},
                      Config{16384, 1, true}, Config{32768, 0, true},
                      Config{65536, 4096, true}, Config{65536, 0, false}),
    [](const auto& info) {
      return "s" + std::to_string(info.param.sector) + "_p" +
             std::to_string(info.param.prefix) +
             (info.param.integrity ? "_tags" : "_notags");
    });

// ReadAt over an offset x length sweep compares with the plaintext.
TEST(ReadAtSweepTest, OffsetsAndLengthsMatchPlaintext) {
  TempDir dir;
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  for (uint32_t sector : {512u, 4096u}) {
    for (bool integrity : {true, false}) {
      const std::vector<uint8_t> input =
          RandomBytes(300 + 9 * sector + 77, sector);
      SealOptions options;
      options.sector_size = sector;
      options.prefix_bytes = 300;
      options.integrity = integrity;
      const std::string path =
          dir.File("sweep-" + std::to_string(sector) + (integrity ? "t" : "n"));
      ASSERT_OK(SealBuffer(path, input, options, kek));
      ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path, kek));
      std::vector<uint64_t> offsets = {0, 1, 299, 300, 301};
      for (uint64_t k = 1; k <= 9; ++k) {
        for (int64_t d : {-17, -1, 0, 1, 16})
          offsets.push_back(300 + k * sector + d);
      }
      offsets.push_back(input.size() - 1);
      std::vector<size_t> lengths = {
          1,           15,     16,         17,
          sector - 1,  sector, sector + 1, 2 * sector + 3,
          input.size()};
      std::vector<uint8_t> buf(input.size() + 10);
      for (uint64_t off : offsets) {
        for (size_t len : lengths) {
          ASSERT_OK_AND_ASSIGN(
              size_t got, reader->ReadAt(off, absl::MakeSpan(buf.data(), len)));
          const size_t want = std::min<uint64_t>(len, input.size() - off);
          ASSERT_EQ(got, want) << off << "+" << len;
          ASSERT_TRUE(
              std::equal(buf.begin(), buf.begin() + got, input.begin() + off))
              << "sector " << sector << " offset " << off << " length " << len;
        }
      }
    }
  }
}

TEST(ReadAtSweepTest, ParallelReadersAgree) {
  TempDir dir;
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  const std::vector<uint8_t> input = RandomBytes(5 << 20, 5);
  ASSERT_OK(SealBuffer(dir.File("p"), input, SealOptions(), kek));
  ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(dir.File("p"), kek));
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 gen(t);
      std::vector<uint8_t> buf(300000);
      for (int i = 0; i < 200; ++i) {
        uint64_t off = gen() % input.size();
        size_t len = 1 + gen() % buf.size();
        auto got = reader->ReadAt(off, absl::MakeSpan(buf.data(), len));
        if (!got.ok() ||
            !std::equal(buf.begin(), buf.begin() + *got, input.begin() + off)) {
          ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

size_t CountEntries(const std::string& path) {
  size_t n = 0;
  DIR* d = opendir(path.c_str());
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.' || e->d_name[1] > '.';
  closedir(d);
  return n;
}

TEST(EnvelopeWriterTest, AbandonedSealLeavesNothing) {
  TempDir dir;
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  {
    ASSERT_OK_AND_ASSIGN(
        auto writer,
        EnvelopeWriter::Create(dir.File("out"), {"", "k"}, kek, SealOptions()));
    std::vector<uint8_t> data = RandomBytes(3 << 20, 2);
    ASSERT_OK(writer->Write(data));
    EXPECT_EQ(CountEntries(dir.path()), 0u);  // the file has no name yet
  }
  EXPECT_EQ(CountEntries(dir.path()), 0u);
}

TEST(EnvelopeWriterTest, RefusesToReplaceAnExistingFile) {
  TempDir dir;
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  testing::WriteFileOrDie(dir.File("out"), std::vector<uint8_t>{1, 2, 3});
  EXPECT_EQ(
      EnvelopeWriter::Create(dir.File("out"), {"", "k"}, kek, SealOptions())
          .status()
          .code(),
      absl::StatusCode::kAlreadyExists);
  SealOptions overwrite;
  overwrite.overwrite = true;
  EXPECT_OK(SealBuffer(dir.File("out"), RandomBytes(10, 1), overwrite, kek));
  EXPECT_EQ(CountEntries(dir.path()), 1u);
}

TEST(EnvelopeWriterTest, RejectsBadOptions) {
  TempDir dir;
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  SealOptions o;
  o.sector_size = 3000;
  EXPECT_EQ(
      EnvelopeWriter::Create(dir.File("a"), {"", "k"}, kek, o).status().code(),
      absl::StatusCode::kInvalidArgument);
  o.sector_size = 4096;
  o.prefix_bytes = (1 << 20) + 1;
  EXPECT_FALSE(EnvelopeWriter::Create(dir.File("a"), {"", "k"}, kek, o).ok());
  EXPECT_FALSE(EnvelopeWriter::Create(dir.File("a"), {"", "k"}, SecretBytes(16),
                                      SealOptions())
                   .ok());
  EXPECT_EQ(CountEntries(dir.path()), 0u);
}

}  // namespace
}  // namespace dumpcrypt
