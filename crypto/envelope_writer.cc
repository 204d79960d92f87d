#include "crypto/envelope_writer.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "crypto/status_macros.h"

namespace dumpcrypt {
namespace {

constexpr size_t kBatchBytes = 1 << 20;

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

absl::Status SyncDir(const std::string& dir) {
  auto fd = OpenReadOnly(dir, O_DIRECTORY);
  if (!fd.ok()) return Prefix(fd.status(), dir);
  if (::fsync(fd->get()) != 0) return ErrnoStatus(errno, "fsync " + dir);
  return absl::OkStatus();
}

}  // namespace

EnvelopeWriter::EnvelopeWriter(std::string output_path, std::string temp_path,
                               UniqueFd fd, EnvelopeHeader header,
                               FileKeys keys, bool overwrite)
    : output_path_(std::move(output_path)),
      temp_path_(std::move(temp_path)),
      fd_(std::move(fd)),
      header_(std::move(header)),
      keys_(std::move(keys)),
      overwrite_(overwrite) {
  const size_t sectors = std::max<size_t>(1, kBatchBytes / header_.sector_size);
  batch_.resize(sectors * header_.sector_size);
  if (header_.integrity) tags_.resize(sectors * kSectorTagSize);
  prefix_.reserve(header_.prefix_length);
}

absl::StatusOr<std::unique_ptr<EnvelopeWriter>> EnvelopeWriter::Create(
    const std::string& output_path, const KeyRef& ref, const SecretBytes& kek,
    const SealOptions& options) {
  if (options.prefix_bytes > kMaxPrefixSize) {
    return absl::InvalidArgumentError("--prefix-bytes is over 1 MiB");
  }
  if (!options.overwrite && ::access(output_path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(output_path, " exists (not overwritten)"));
  }
  EnvelopeHeader header;
  header.integrity = options.integrity;
  header.sector_size = options.sector_size;
  header.prefix_length = options.prefix_bytes;
  header.metadata = options.metadata;
  if (RAND_bytes(header.file_id.data(), header.file_id.size()) != 1) {
    return absl::InternalError("random generator failed");
  }
  // A derived XTS key with equal halves has probability 2^-256; retry anyway.
  SecretBytes data_key;
  FileKeys keys;
  for (int attempt = 0;; ++attempt) {
    DC_ASSIGN_OR_RETURN(data_key, SecretBytes::Random(kDataKeySize));
    auto derived =
        DeriveFileKeys(data_key, header, XtsSectorCipher::Direction::kEncrypt);
    if (derived.ok()) {
      keys = std::move(derived).value();
      break;
    }
    if (attempt == 2) return derived.status();
  }
  DC_ASSIGN_OR_RETURN(KeySlot slot, MakeKeySlot(ref, kek, data_key));
  header.slots.push_back(std::move(slot));
  // Encode once to learn the header length; it does not change later.
  header.data_offset = kMaxPlaintextLength;
  DC_ASSIGN_OR_RETURN(std::vector<uint8_t> body, EncodeHeader(&header));
  const uint64_t used = uint64_t{header.header_length} + options.prefix_bytes;
  header.data_offset =
      (used + kDataAlignment - 1) / kDataAlignment * kDataAlignment;

  std::string temp =
      DirName(output_path) + "/." + BaseName(output_path) + ".dumpcrypt-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(errno,
                       "create temporary file in " + DirName(output_path));
  }
  return std::unique_ptr<EnvelopeWriter>(new EnvelopeWriter(
      output_path, std::move(temp), UniqueFd(fd), std::move(header),
      std::move(keys), options.overwrite));
}

EnvelopeWriter::~EnvelopeWriter() {
  if (!finished_) {
    fd_.Reset();
    ::unlink(temp_path_.c_str());
  }
}

absl::Status EnvelopeWriter::Write(absl::Span<const uint8_t> data) {
  if (failed_ || finished_) {
    return absl::FailedPreconditionError("writer is closed");
  }
  bytes_in_ += data.size();
  if (prefix_.size() < header_.prefix_length) {
    const size_t n =
        std::min<size_t>(data.size(), header_.prefix_length - prefix_.size());
    prefix_.insert(prefix_.end(), data.begin(), data.begin() + n);
    data.remove_prefix(n);
  }
  while (!data.empty()) {
    const size_t n = std::min(data.size(), batch_.size() - batch_fill_);
    std::memcpy(batch_.data() + batch_fill_, data.data(), n);
    batch_fill_ += n;
    data.remove_prefix(n);
    if (batch_fill_ == batch_.size()) {
      absl::Status status = FlushSectors(false);
      if (!status.ok()) {
        failed_ = true;
        return status;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status EnvelopeWriter::FlushSectors(bool final) {
  const size_t sector = header_.sector_size;
  if (final && batch_fill_ % sector != 0) {
    const size_t padded = (batch_fill_ + sector - 1) / sector * sector;
    std::memset(batch_.data() + batch_fill_, 0, padded - batch_fill_);
    batch_fill_ = padded;
  }
  const size_t count = batch_fill_ / sector;
  if (count == 0) return absl::OkStatus();
  auto data = absl::MakeSpan(batch_.data(), count * sector);
  DC_RETURN_IF_ERROR(keys_.xts->Transform(sectors_written_, sector, data));
  std::vector<struct iovec> iov;
  if (keys_.tagger != nullptr) {
    auto tags = absl::MakeSpan(tags_.data(), count * kSectorTagSize);
    DC_RETURN_IF_ERROR(
        keys_.tagger->Compute(sectors_written_, sector, data, tags));
    iov.reserve(2 * count);
    for (size_t i = 0; i < count; ++i) {
      iov.push_back({data.data() + i * sector, sector});
      iov.push_back({tags.data() + i * kSectorTagSize, kSectorTagSize});
    }
  } else {
    iov.push_back({data.data(), data.size()});
  }
  uint64_t pos =
      header_.data_offset + sectors_written_ * header_.SectorStride();
  size_t next = 0;
  while (next < iov.size()) {
    const int n =
        static_cast<int>(std::min<size_t>(iov.size() - next, IOV_MAX));
    ssize_t wrote =
        ::pwritev(fd_.get(), iov.data() + next, n, static_cast<off_t>(pos));
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + temp_path_);
    }
    pos += static_cast<uint64_t>(wrote);
    size_t left = static_cast<size_t>(wrote);
    while (next < iov.size() && left >= iov[next].iov_len) {
      left -= iov[next].iov_len;
      ++next;
    }
    if (next < iov.size()) {
      iov[next].iov_base = static_cast<uint8_t*>(iov[next].iov_base) + left;
      iov[next].iov_len -= left;
    }
  }
  sectors_written_ += count;
  batch_fill_ = 0;
  return absl::OkStatus();
}

absl::Status EnvelopeWriter::Finish() {
  if (failed_ || finished_) {
    return absl::FailedPreconditionError("writer is closed");
  }
  failed_ = true;  // until the rename succeeds
  const uint64_t plaintext =
      sectors_written_ * header_.sector_size + batch_fill_;
  DC_RETURN_IF_ERROR(FlushSectors(true));
  header_.plaintext_length = plaintext;
  header_.prefix_length = static_cast<uint32_t>(prefix_.size());
  const uint32_t length = header_.header_length;
  DC_ASSIGN_OR_RETURN(std::vector<uint8_t> body, EncodeHeader(&header_));
  if (header_.header_length != length) {
    return absl::InternalError("header length changed while sealing");
  }
  DC_ASSIGN_OR_RETURN(Sha256Digest tag,
                      HeaderTag(keys_.header_key, body, prefix_));
  body.insert(body.end(), tag.begin(), tag.end());
  DC_RETURN_IF_ERROR(PwriteFull(fd_.get(), prefix_, header_.header_length));
  // The file's length must be exact even when the last sectors were empty.
  if (::ftruncate(fd_.get(), static_cast<off_t>(header_.ExpectedFileSize())) !=
      0) {
    return ErrnoStatus(errno, "truncate " + temp_path_);
  }
  if (::fdatasync(fd_.get()) != 0) {
    return ErrnoStatus(errno, "fsync " + temp_path_);
  }
  // The magic arrives last, so a torn file never parses as an envelope.
  DC_RETURN_IF_ERROR(PwriteFull(fd_.get(), body, 0));
  if (::fsync(fd_.get()) != 0) return ErrnoStatus(errno, "fsync " + temp_path_);
  const unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, output_path_.c_str(),
                  flags) != 0) {
    return ErrnoStatus(errno, "rename to " + output_path_);
  }
  finished_ = true;
  failed_ = false;
  fd_.Reset();
  return SyncDir(DirName(output_path_));
}

}  // namespace dumpcrypt
