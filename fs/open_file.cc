#include "fs/open_file.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "crypto/status_macros.h"
#include "fs/log.h"
#include "kms/envelope_opener.h"

namespace dumpcrypt {

const std::string& OpenFile::path() const { return inode_->path; }

absl::StatusOr<size_t> OpenFile::Read(uint64_t offset,
                                      absl::Span<uint8_t> out) const {
  if (reader_ == nullptr) return PreadFull(fd_.get(), out, offset);
  absl::StatusOr<size_t> got = reader_->ReadAt(offset, out);
  if (!got.ok()) {
    absl::Status status = Prefix(got.status(), inode_->path);
    LogLine(status.message());
    if (absl::IsDataLoss(status))
      tree_->Audit("integrity_failure", *inode_, nullptr, status);
    return status;
  }
  return got;
}

absl::StatusOr<std::unique_ptr<OpenFile>> DumpTree::Open(uint64_t ino,
                                                         const Caller& caller) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  switch (inode->kind) {
    case Kind::kFile: {
      auto fd = ReopenReadOnly(inode->fd.get());
      if (!fd.ok()) return Prefix(fd.status(), inode->path);
      return std::unique_ptr<OpenFile>(
          new OpenFile(this, inode, std::move(fd).value(), nullptr));
    }
    case Kind::kBrokenEnvelope: {
      absl::Status status =
          absl::DataLossError(absl::StrCat(inode->path, ": ", inode->broken));
      LogLine(status.message());
      return status;
    }
    case Kind::kEnvelope:
      break;
    default:
      return absl::InvalidArgumentError(inode->path + " is not a file");
  }
  auto reader = [&]() -> absl::StatusOr<std::unique_ptr<EnvelopeReader>> {
    DC_ASSIGN_OR_RETURN(UniqueFd fd, ReopenReadOnly(inode->fd.get()));
    DC_ASSIGN_OR_RETURN(EnvelopeHeader header, ReadHeader(fd.get()));
    absl::StatusOr<SecretBytes> data_key = UnlockDataKey(header, *keys_);
    if (!data_key.ok())
      return absl::UnauthenticatedError(data_key.status().message());
    return EnvelopeReader::Open(std::move(fd), std::move(header), *data_key);
  }();
  if (!reader.ok()) {
    absl::Status status = Prefix(reader.status(), inode->path);
    LogLine(status.message());
    if (absl::IsUnauthenticated(status)) {
      absl::MutexLock lock(&inode->mu);
      inode->key_error = std::string(reader.status().message());
    }
    Audit(absl::IsUnauthenticated(status) ? "key_missing"
          : absl::IsDataLoss(status)      ? "integrity_failure"
                                          : "open_failed",
          *inode, &caller, status);
    return status;
  }
  {
    absl::MutexLock lock(&inode->mu);
    inode->key_error.clear();
  }
  Audit("open", *inode, &caller, absl::OkStatus());
  return std::unique_ptr<OpenFile>(
      new OpenFile(this, inode, UniqueFd(), std::move(reader).value()));
}

}  // namespace dumpcrypt
