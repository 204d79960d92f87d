#include "envelope/envelope_writer.h"

#include <openssl/rand.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace dumpcrypt {
namespace {

constexpr size_t kBatchBytes = 1 << 20;

}  // namespace

EnvelopeWriter::EnvelopeWriter(AtomicFile file, EnvelopeHeader header,
                               FileKeys keys)
    : file_(std::move(file)),
      header_(std::move(header)),
      keys_(std::move(keys)) {
  const size_t sectors = std::max<size_t>(1, kBatchBytes / header_.sector_size);
  batch_.resize(sectors * header_.sector_size);
  if (header_.integrity) tags_.resize(sectors * kSectorTagSize);
  prefix_.reserve(header_.prefix_length);
}

absl::StatusOr<std::unique_ptr<EnvelopeWriter>> EnvelopeWriter::Create(
    const std::string& output_path, const KeyRef& ref, const SecretBytes& kek,
    const SealOptions& options) {
  return Create(
      output_path,
      [&](const SecretBytes& data_key) -> absl::StatusOr<std::vector<KeySlot>> {
        DC_ASSIGN_OR_RETURN(KeySlot slot, MakeKeySlot(ref, kek, data_key));
        return std::vector<KeySlot>{std::move(slot)};
      },
      options);
}

absl::StatusOr<std::unique_ptr<EnvelopeWriter>> EnvelopeWriter::Create(
    const std::string& output_path, const SlotsFor& slots,
    const SealOptions& options) {
  if (options.prefix_bytes > kMaxPrefixSize) {
    return absl::InvalidArgumentError("cleartext prefix is over 1 MiB");
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
  DC_ASSIGN_OR_RETURN(header.slots, slots(data_key));
  // Encode once to learn the header length; at the end it grows at most by
  // an input state and a layout record.
  header.data_offset = kMaxPlaintextLength;
  DC_ASSIGN_OR_RETURN(std::vector<uint8_t> body, EncodeHeader(&header));
  const uint64_t used =
      uint64_t{header.header_length} +
      (header.metadata.truncated ? 0 : kInputStateRecordSize) +
      (header.metadata.flattened_size ? 0 : kLayoutRecordSize) +
      options.prefix_bytes;
  header.data_offset =
      (used + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
  DC_ASSIGN_OR_RETURN(AtomicFile file,
                      AtomicFile::Create(output_path, options.overwrite));
  return std::unique_ptr<EnvelopeWriter>(
      new EnvelopeWriter(std::move(file), std::move(header), std::move(keys)));
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
  if (header_.prefix_length == 0) flattened_.Feed(data);
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
        ::pwritev(file_.fd(), iov.data() + next, n, static_cast<off_t>(pos));
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + file_.temp_path());
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
  failed_ = true;  // until the commit succeeds
  const uint64_t plaintext =
      sectors_written_ * header_.sector_size + batch_fill_;
  DC_RETURN_IF_ERROR(FlushSectors(true));
  header_.plaintext_length = plaintext;
  header_.prefix_length = static_cast<uint32_t>(prefix_.size());
  if (header_.prefix_length == 0 && flattened_.flattened()) {
    header_.metadata.flattened_size = flattened_.size();
    if (!flattened_.complete()) header_.metadata.truncated = true;
  }
  DC_ASSIGN_OR_RETURN(std::vector<uint8_t> body, EncodeHeader(&header_));
  DC_ASSIGN_OR_RETURN(Sha256Digest tag,
                      HeaderTag(keys_.header_key, body, prefix_));
  body.insert(body.end(), tag.begin(), tag.end());
  const int fd = file_.fd();
  DC_RETURN_IF_ERROR(PwriteFull(fd, prefix_, header_.header_length));
  // The length must be exact even when the last sectors were never written.
  if (::ftruncate(fd, static_cast<off_t>(header_.ExpectedFileSize())) != 0) {
    return ErrnoStatus(errno, "truncate " + file_.temp_path());
  }
  if (::fdatasync(fd) != 0) {
    return ErrnoStatus(errno, "fsync " + file_.temp_path());
  }
  // The magic arrives last, so a torn file never parses as an envelope.
  DC_RETURN_IF_ERROR(PwriteFull(fd, body, 0));
  DC_RETURN_IF_ERROR(file_.Commit());
  finished_ = true;
  failed_ = false;
  return absl::OkStatus();
}

}  // namespace dumpcrypt
