// Helpers for tests: temporary folders, hex, random bytes, status matchers.
#ifndef DUMPCRYPT_TESTS_TESTUTIL_H_
#define DUMPCRYPT_TESTS_TESTUTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/backend.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope_reader.h"
#include "envelope/envelope_writer.h"
#include "gtest/gtest.h"

namespace dumpcrypt::testing {

// TempDir is a fresh folder removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> FromHex(absl::string_view hex);

// RealEsxiFilesMissing is true, after saying why on stderr, when the real
// ESXi test files of ../shared/testdata/vmware are not at `dir`: a test then
// skips, except under CI (CI set), where that is a failure.
bool RealEsxiFilesMissing(const std::string& dir);
#define DC_SKIP_WITHOUT_REAL_ESXI_FILES(dir)                             \
  do {                                                                   \
    if (::dumpcrypt::testing::RealEsxiFilesMissing(dir)) {               \
      if (std::getenv("CI") != nullptr)                                  \
        FAIL() << "CI runs with ../shared: the real ESXi files must be " \
                  "at "                                                  \
               << (dir);                                                 \
      GTEST_SKIP() << "the real ESXi test files are not at " << (dir);   \
    }                                                                    \
  } while (0)

// BackendTestName names a test instance after its crypto back end:
// "openssl" or "fast".
std::string BackendTestName(
    const ::testing::TestParamInfo<CryptoBackend>& info);
std::string ToHex(absl::Span<const uint8_t> bytes);
SecretBytes SecretFromHex(absl::string_view hex);
// RandomBytes returns `n` bytes from a generator seeded with `seed`.
std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed);
void WriteFileOrDie(const std::string& path, absl::Span<const uint8_t> data);
// WriteSecretFile writes `text` to `path` with `mode` (a password or key
// file is refused unless only its owner can read it).
void WriteSecretFile(const std::string& path, absl::string_view text,
                     mode_t mode = 0600);
// ReadFileOrFail returns the file's bytes; if it cannot be read it fails the
// running test and returns nothing (no abort: a mount test must go on to
// its unmount).
std::vector<uint8_t> ReadFileOrFail(const std::string& path);
// ReadText returns a file's content, "" if it cannot be read (a file not
// written yet, a /proc file of a process that is gone).
std::string ReadText(const std::string& path);
// WriteText replaces a file's content with `text`, best effort (fixtures,
// /proc/sys).
void WriteText(const std::string& path, const std::string& text);

// SealBuffer seals `plaintext` to `path` under `kek`, writing it to the
// writer in chunks of `chunk` bytes.
absl::Status SealBuffer(const std::string& path,
                        absl::Span<const uint8_t> plaintext,
                        const SealOptions& options, const SecretBytes& kek,
                        const KeyRef& ref = {"test", "key-1"},
                        size_t chunk = 65536);

// OpenWithKek opens the envelope at `path` with the slot-0 `kek`.
absl::StatusOr<std::unique_ptr<EnvelopeReader>> OpenWithKek(
    const std::string& path, const SecretBytes& kek);

// ReadAll reads the whole decrypted view with `block`-sized ReadAt calls.
absl::StatusOr<std::vector<uint8_t>> ReadAll(const RandomAccessView& reader,
                                             size_t block = 1 << 20);

}  // namespace dumpcrypt::testing

#define ASSERT_OK(expr)                                \
  do {                                                 \
    const ::absl::Status dc_s_ = ::absl::Status(expr); \
    ASSERT_TRUE(dc_s_.ok()) << dc_s_;                  \
  } while (0)
#define EXPECT_OK(expr)                                \
  do {                                                 \
    const ::absl::Status dc_s_ = ::absl::Status(expr); \
    EXPECT_TRUE(dc_s_.ok()) << dc_s_;                  \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(DC_TEST_CONCAT_(dc_sor_, __LINE__), lhs, expr)
#define DC_TEST_CONCAT_INNER_(a, b) a##b
#define DC_TEST_CONCAT_(a, b) DC_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status();           \
  lhs = std::move(tmp).value()

#endif  // DUMPCRYPT_TESTS_TESTUTIL_H_
