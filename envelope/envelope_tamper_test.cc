// A changed byte anywhere is detected: in a sector (that sector only), in
// the header or prefix (at open), by truncation or appended bytes, or by
// the wrong key.
#include <fcntl.h>
#include <unistd.h>

#include "base/file_io.h"
#include "envelope/envelope_reader.h"
#include "envelope/envelope_writer.h"
#include "envelope/file_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::HasSubstr;
using testing::OpenWithKek;
using testing::RandomBytes;
using testing::SealBuffer;
using testing::TempDir;

constexpr uint32_t kSector = 4096;
constexpr uint32_t kPrefix = 1000;
constexpr int kSectors = 6;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = RandomBytes(kPrefix + kSectors * kSector - 100, 3);
    SealOptions options;
    options.prefix_bytes = kPrefix;
    ASSERT_OK(SealBuffer(path_, input_, options, kek_));
    ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path_, kek_));
    header_ = reader->header();
  }

  void FlipBit(uint64_t offset, uint8_t mask = 0x10) {
    int fd = open(path_.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    uint8_t b;
    ASSERT_EQ(pread(fd, &b, 1, offset), 1);
    b ^= mask;
    ASSERT_EQ(pwrite(fd, &b, 1, offset), 1);
    close(fd);
  }

  uint64_t SectorFileOffset(uint64_t sector) const {
    return header_.data_offset + sector * header_.SectorStride();
  }

  TempDir dir_;
  const std::string path_ = dir_.File("dump.dce");
  SecretBytes kek_ = SecretBytes::CopyOf(RandomBytes(32, 1));
  std::vector<uint8_t> input_;
  EnvelopeHeader header_;
};

// Only a key holder can change a sector and its tag together; a last
// sector whose padding is not zero is still damage (FORMAT.md section 5).
TEST_F(TamperTest, LastSectorPaddingMustBeZeroEvenUnderAValidTag) {
  ASSERT_OK_AND_ASSIGN(SecretBytes dk, UnwrapDataKey(header_.slots[0], kek_));
  ASSERT_OK_AND_ASSIGN(
      FileKeys decrypt,
      DeriveFileKeys(dk, header_, XtsSectorCipher::Direction::kDecrypt));
  ASSERT_OK_AND_ASSIGN(
      FileKeys encrypt,
      DeriveFileKeys(dk, header_, XtsSectorCipher::Direction::kEncrypt));
  const uint64_t last = kSectors - 1;
  std::vector<uint8_t> unit(kSector + kSectorTagSize);
  UniqueFd fd(open(path_.c_str(), O_RDWR));
  ASSERT_EQ(pread(fd.get(), unit.data(), unit.size(), SectorFileOffset(last)),
            static_cast<ssize_t>(unit.size()));
  const absl::Span<uint8_t> data(unit.data(), kSector);
  ASSERT_OK(decrypt.xts->Transform(last, kSector, data));
  data[kSector - 1] = 1;  // in the 100 bytes past the end
  ASSERT_OK(encrypt.xts->Transform(last, kSector, data));
  ASSERT_OK(encrypt.tagger->Compute(last, kSector, data,
                                    absl::MakeSpan(unit).subspan(kSector)));
  ASSERT_EQ(pwrite(fd.get(), unit.data(), unit.size(), SectorFileOffset(last)),
            static_cast<ssize_t>(unit.size()));

  ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path_, kek_));
  std::vector<uint8_t> out(100);
  EXPECT_OK(reader->ReadAt(0, absl::MakeSpan(out)).status());
  const absl::Status tail =
      reader->ReadAt(reader->size() - 10, absl::MakeSpan(out)).status();
  EXPECT_TRUE(absl::IsDataLoss(tail)) << tail;
  EXPECT_THAT(tail.message(), HasSubstr("not zero past the end"));
}

TEST_F(TamperTest, FlippedCiphertextBitFailsOnlyThatSector) {
  for (int bad = 0; bad < kSectors; ++bad) {
    SCOPED_TRACE(bad);
    FlipBit(SectorFileOffset(bad) + 123);
    ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path_, kek_));
    std::vector<uint8_t> buf(kSector);
    for (int s = 0; s < kSectors; ++s) {
      const uint64_t off = kPrefix + uint64_t{kSector} * s;
      auto got = reader->ReadAt(off, absl::MakeSpan(buf));
      if (s == bad) {
        EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
        EXPECT_THAT(std::string(got.status().message()),
                    HasSubstr("sector " + std::to_string(bad) + " "));
      } else {
        ASSERT_OK(got.status());
        EXPECT_TRUE(
            std::equal(buf.begin(), buf.begin() + *got, input_.begin() + off));
      }
    }
    // A read spanning the bad sector fails too, never returns its bytes.
    std::vector<uint8_t> all(input_.size());
    EXPECT_EQ(reader->ReadAt(0, absl::MakeSpan(all)).status().code(),
              absl::StatusCode::kDataLoss);
    FlipBit(SectorFileOffset(bad) + 123);  // restore
  }
}

TEST_F(TamperTest, FlippedTagBitFailsThatSector) {
  FlipBit(SectorFileOffset(2) + kSector + 5);
  ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path_, kek_));
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(reader->ReadAt(kPrefix + 2 * kSector + 7, absl::MakeSpan(buf))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_OK(
      reader->ReadAt(kPrefix + 3 * kSector, absl::MakeSpan(buf)).status());
}

TEST_F(TamperTest, EveryHeaderAndPrefixByteIsAuthenticated) {
  const uint64_t end = header_.header_length + header_.prefix_length;
  for (uint64_t off = 0; off < end;
       off += (off < header_.header_length ? 1 : 97)) {
    FlipBit(off, 0x01);
    auto reader = OpenWithKek(path_, kek_);
    EXPECT_FALSE(reader.ok()) << "byte " << off << " changed unnoticed";
    FlipBit(off, 0x01);
  }
  EXPECT_OK(OpenWithKek(path_, kek_).status());
}

TEST_F(TamperTest, ChangedKeyIdIsDetectedEvenWithTheRightKey) {
  // Rewrite the keyID in place (same length) and keep the right KEK.
  std::vector<uint8_t> bytes = testing::ReadFileOrFail(path_);
  auto it = std::search(bytes.begin(), bytes.begin() + header_.header_length,
                        header_.slots[0].ref.key_id.begin(),
                        header_.slots[0].ref.key_id.end());
  ASSERT_NE(it, bytes.begin() + header_.header_length);
  *it ^= 0x01;
  testing::WriteFileOrDie(path_, bytes);
  auto reader = OpenWithKek(path_, kek_);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(reader.status().message()),
              HasSubstr("header authentication"));
}

TEST_F(TamperTest, TruncationAndAppendedBytesAreDetected) {
  const uint64_t size = header_.ExpectedFileSize();
  ASSERT_EQ(truncate(path_.c_str(), static_cast<off_t>(size - 1)), 0);
  EXPECT_EQ(OpenWithKek(path_, kek_).status().code(),
            absl::StatusCode::kDataLoss);
  ASSERT_EQ(truncate(path_.c_str(), static_cast<off_t>(size + 1)), 0);
  EXPECT_EQ(OpenWithKek(path_, kek_).status().code(),
            absl::StatusCode::kDataLoss);
  // Cutting whole sectors off is truncation too.
  ASSERT_EQ(truncate(path_.c_str(),
                     static_cast<off_t>(SectorFileOffset(kSectors - 1))),
            0);
  EXPECT_EQ(OpenWithKek(path_, kek_).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(TamperTest, WrongKeyIsUnauthenticatedNeverGarbage) {
  SecretBytes wrong = SecretBytes::CopyOf(RandomBytes(32, 2));
  EXPECT_EQ(OpenWithKek(path_, wrong).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(TamperNoIntegrityTest, HeaderStillAuthenticatedWithoutTags) {
  TempDir dir;
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  SealOptions options;
  options.integrity = false;
  const std::string path = dir.File("d");
  ASSERT_OK(SealBuffer(path, RandomBytes(10000, 4), options, kek));
  ASSERT_OK_AND_ASSIGN(auto reader, OpenWithKek(path, kek));
  EXPECT_FALSE(reader->header().integrity);
  EXPECT_EQ(reader->header().ExpectedFileSize(), 4096 + 3 * 4096u);
  std::vector<uint8_t> bytes = testing::ReadFileOrFail(path);
  bytes[33] ^= 1;  // plaintext length
  testing::WriteFileOrDie(path, bytes);
  EXPECT_FALSE(OpenWithKek(path, kek).ok());
}

}  // namespace
}  // namespace dumpcrypt
