#include "tests/testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include "base/file_io.h"
#include "envelope/file_keys.h"

namespace dumpcrypt::testing {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl =
      std::string(base ? base : "/tmp") + "/dumpcrypt-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  // A mount test whose daemon died in an odd way may leave its mount here:
  // detach every mount below the folder before removing it.
  std::ifstream mounts("/proc/self/mountinfo");
  std::vector<std::string> points;
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (point.rfind(path_ + "/", 0) == 0) points.push_back(point);
  }
  for (auto it = points.rbegin(); it != points.rend(); ++it)
    umount2(it->c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool RealEsxiFilesMissing(const std::string& dir) {
  if (access((dir + "/local.tgz.ve").c_str(), R_OK) == 0) return false;
  std::fprintf(stderr,
               "\n*** SKIPPING the tests on real ESXi files: %s/local.tgz.ve "
               "is not there (a checkout without ../shared). They are the "
               "only check against files ESXi itself wrote. ***\n\n",
               dir.c_str());
  return true;
}

std::string BackendTestName(
    const ::testing::TestParamInfo<CryptoBackend>& info) {
  return info.param == CryptoBackend::kFast ? "fast" : "openssl";
}

std::vector<uint8_t> FromHex(absl::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToHex(absl::Span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

SecretBytes SecretFromHex(absl::string_view hex) {
  std::vector<uint8_t> bytes = FromHex(hex);
  return SecretBytes::CopyOf(bytes);
}

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(gen());
  return out;
}

void WriteSecretFile(const std::string& path, absl::string_view text,
                     mode_t mode) {
  WriteFileOrDie(path,
                 {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  if (::chmod(path.c_str(), mode) != 0) std::abort();
}

void WriteFileOrDie(const std::string& path, absl::Span<const uint8_t> data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()),
          static_cast<std::streamsize>(data.size()));
  if (!f) std::abort();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::vector<uint8_t> ReadFileOrFail(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return {};
  }
  UniqueFd owned(fd);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ADD_FAILURE() << "read " << path << ": " << std::strerror(errno);
      return {};
    }
    if (n == 0) return out;
    out.insert(out.end(), buf, buf + n);
  }
}

absl::Status SealBuffer(const std::string& path,
                        absl::Span<const uint8_t> plaintext,
                        const SealOptions& options, const SecretBytes& kek,
                        const KeyRef& ref, size_t chunk) {
  auto writer = EnvelopeWriter::Create(path, ref, kek, options);
  if (!writer.ok()) return writer.status();
  while (!plaintext.empty()) {
    const size_t n = std::min(chunk, plaintext.size());
    absl::Status s = (*writer)->Write(plaintext.subspan(0, n));
    if (!s.ok()) return s;
    plaintext.remove_prefix(n);
  }
  return (*writer)->Finish();
}

absl::StatusOr<std::unique_ptr<EnvelopeReader>> OpenWithKek(
    const std::string& path, const SecretBytes& kek) {
  auto fd = OpenReadOnly(path);
  if (!fd.ok()) return fd.status();
  auto header = ReadHeader(fd->get());
  if (!header.ok()) return header.status();
  auto data_key = UnwrapDataKey(header->slots.at(0), kek);
  if (!data_key.ok()) return data_key.status();
  return EnvelopeReader::Open(std::move(fd).value(), std::move(header).value(),
                              *data_key);
}

absl::StatusOr<std::vector<uint8_t>> ReadAll(const RandomAccessView& reader,
                                             size_t block) {
  std::vector<uint8_t> out(reader.size());
  uint64_t pos = 0;
  while (pos < out.size()) {
    const size_t want = std::min<uint64_t>(block, out.size() - pos);
    auto got = reader.ReadAt(pos, absl::MakeSpan(out).subspan(pos, want));
    if (!got.ok()) return got.status();
    if (*got != want) return absl::InternalError("short read");
    pos += *got;
  }
  return out;
}

}  // namespace dumpcrypt::testing
