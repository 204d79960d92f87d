#include "kms/local_keystore.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "crypto/kdf.h"
#include "envelope/envelope_format.h"
#include "kms/secret_file.h"

namespace dumpcrypt {
namespace {

constexpr absl::string_view kHeaderLine =
    "# dumpcrypt key store v1: keep secret (mode 0600); one key per line: "
    "64 hex digits, a space, the keyID\n";
constexpr size_t kHexKey = 64;
constexpr size_t kMaxStoreSize = 16 << 20;

// ForEachKey calls `fn(id, hex_key_bytes)` for each key line; stops when fn
// returns false. DATA_LOSS for a malformed line, naming its number.
absl::Status ForEachKey(
    const SecretBytes& text, const std::string& path,
    const std::function<bool(absl::string_view, const uint8_t*)>& fn) {
  absl::string_view all(reinterpret_cast<const char*>(text.data()),
                        text.size());
  size_t line_no = 0;
  while (!all.empty()) {
    ++line_no;
    size_t end = all.find('\n');
    absl::string_view line = all.substr(0, end);
    all.remove_prefix(end == absl::string_view::npos ? all.size() : end + 1);
    if (line.empty() || line[0] == '#') continue;
    if (line.size() < kHexKey + 2 || line[kHexKey] != ' ') {
      return absl::DataLossError(
          absl::StrCat("key store ", path, " line ", line_no,
                       ": expected 64 hex digits, a space and a keyID"));
    }
    for (size_t i = 0; i < kHexKey; ++i) {
      if (HexValue(line[i]) < 0) {
        return absl::DataLossError(absl::StrCat("key store ", path, " line ",
                                                line_no, ": key is not hex"));
      }
    }
    if (!fn(line.substr(kHexKey + 1),
            reinterpret_cast<const uint8_t*>(line.data()))) {
      break;
    }
  }
  return absl::OkStatus();
}

// OpenStore opens the store without waiting on it (a FIFO would block);
// CheckFile then refuses anything but a regular file.
absl::StatusOr<UniqueFd> OpenStore(const std::string& path, int flags) {
  auto fd = OpenReadOnly(path, flags | O_NONBLOCK);
  if (!fd.ok()) {
    if (absl::IsNotFound(fd.status())) {
      return absl::NotFoundError(
          absl::StrCat("key store ", path, " does not exist"));
    }
    return Prefix(fd.status(), "key store " + path);
  }
  DC_RETURN_IF_ERROR(CheckSecretFile(fd->get(), "key store", path));
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalKeyStore>> LocalKeyStore::Open(
    std::string path) {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenStore(path, 0));
  return std::unique_ptr<LocalKeyStore>(new LocalKeyStore(std::move(path)));
}

absl::StatusOr<std::unique_ptr<LocalKeyStore>> LocalKeyStore::OpenOrCreate(
    std::string path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    UniqueFd owned(fd);
    DC_RETURN_IF_ERROR(WriteFull(fd, AsBytes(kHeaderLine)));
    if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync " + path);
  } else if (errno != EEXIST) {
    return ErrnoStatus(errno, "create key store " + path);
  }
  return Open(std::move(path));
}

absl::StatusOr<SecretBytes> LocalKeyStore::Resolve(const KeyRef& ref) {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenStore(path_, 0));
  DC_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFd(fd.get(), "key store",
                                                     path_, kMaxStoreSize));
  SecretBytes key;
  DC_RETURN_IF_ERROR(
      ForEachKey(text, path_, [&](absl::string_view id, const uint8_t* hex) {
        if (id != ref.key_id) return true;
        key = SecretBytes(kKekSize);
        HexDecode(
            absl::string_view(reinterpret_cast<const char*>(hex), 2 * kKekSize),
            key.mutable_span());
        return false;
      }));
  if (key.empty()) {
    return absl::NotFoundError(absl::StrCat("not in key store ", path_));
  }
  return key;
}

absl::StatusOr<std::vector<std::string>> LocalKeyStore::ListIds() const {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenStore(path_, 0));
  DC_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFd(fd.get(), "key store",
                                                     path_, kMaxStoreSize));
  std::vector<std::string> ids;
  DC_RETURN_IF_ERROR(
      ForEachKey(text, path_, [&](absl::string_view id, const uint8_t*) {
        ids.emplace_back(id);
        return true;
      }));
  return ids;
}

absl::Status LocalKeyStore::Add(const std::string& key_id,
                                const SecretBytes& key) {
  DC_RETURN_IF_ERROR(ValidateKeyRef({"", key_id}));
  if (key.size() != kKekSize) {
    return absl::InvalidArgumentError("a key must be 32 bytes (64 hex digits)");
  }
  // Lock the current file; if a concurrent Add replaced it meanwhile, retry.
  UniqueFd fd;
  for (;;) {
    DC_ASSIGN_OR_RETURN(fd, OpenStore(path_, 0));
    if (::flock(fd.get(), LOCK_EX) != 0)
      return ErrnoStatus(errno, "lock " + path_);
    struct stat a, b;
    if (::fstat(fd.get(), &a) == 0 && ::stat(path_.c_str(), &b) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      break;
    }
  }
  DC_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFd(fd.get(), "key store",
                                                     path_, kMaxStoreSize));
  bool taken = false;
  DC_RETURN_IF_ERROR(
      ForEachKey(text, path_, [&](absl::string_view id, const uint8_t*) {
        taken = taken || id == key_id;
        return !taken;
      }));
  if (taken) {
    return absl::AlreadyExistsError(
        absl::StrCat("keyID '", key_id, "' is already in key store ", path_));
  }
  const bool needs_newline =
      !text.empty() && text.data()[text.size() - 1] != '\n';
  SecretBytes out(text.size() + needs_newline + kHexKey + 1 + key_id.size() +
                  1);
  uint8_t* p = out.data();
  std::memcpy(p, text.data(), text.size());
  p += text.size();
  if (needs_newline) *p++ = '\n';
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < kKekSize; ++i) {
    *p++ = static_cast<uint8_t>(kDigits[key.data()[i] >> 4]);
    *p++ = static_cast<uint8_t>(kDigits[key.data()[i] & 15]);
  }
  *p++ = ' ';
  std::memcpy(p, key_id.data(), key_id.size());
  p += key_id.size();
  *p++ = '\n';

  std::string temp = path_ + ".tmp-XXXXXX";
  int tfd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (tfd < 0) return ErrnoStatus(errno, "create temporary file for " + path_);
  UniqueFd temp_fd(tfd);
  absl::Status status = WriteFull(tfd, out.span());
  if (status.ok() && ::fsync(tfd) != 0)
    status = ErrnoStatus(errno, "fsync " + temp);
  if (status.ok() && ::rename(temp.c_str(), path_.c_str()) != 0) {
    status = ErrnoStatus(errno, "replace " + path_);
  }
  if (!status.ok()) ::unlink(temp.c_str());
  return status;
}

}  // namespace dumpcrypt
