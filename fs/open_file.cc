#include "fs/open_file.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "envelope/envelope_opener.h"
#include "fs/log.h"

namespace dumpcrypt {

const std::string& OpenFile::path() const { return inode_->path; }

absl::StatusOr<size_t> OpenFile::Read(uint64_t offset,
                                      absl::Span<uint8_t> out) const {
  if (reader_ == nullptr && ve_ == nullptr)
    return PreadFull(fd_.get(), out, offset);
  absl::StatusOr<size_t> got =
      reader_ ? reader_->ReadAt(offset, out) : ve_->ReadAt(offset, out);
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
  DC_RETURN_IF_ERROR(CheckCurrent(*inode));
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
      Audit("integrity_failure", *inode, &caller, status);
      return status;
    }
    case Kind::kEnvelope:
      break;
    case Kind::kVmware:
      return OpenVmware(inode, caller);
    default:
      return absl::InvalidArgumentError(inode->path + " is not a file");
  }
  auto reader = [&]() -> absl::StatusOr<std::unique_ptr<EnvelopeReader>> {
    DC_ASSIGN_OR_RETURN(UniqueFd fd, ReopenReadOnly(inode->fd.get()));
    absl::StatusOr<EnvelopeHeader> header = ReadHeader(fd.get());
    if (absl::IsFailedPrecondition(header.status()))  // rewritten just now
      return absl::AbortedError("no longer an envelope");
    if (!header.ok()) return header.status();
    absl::StatusOr<SecretBytes> data_key = UnlockDataKey(*header, *keys_);
    if (!data_key.ok())
      return absl::UnauthenticatedError(data_key.status().message());
    return EnvelopeReader::Open(std::move(fd), std::move(header).value(),
                                *data_key);
  }();
  if (absl::IsAborted(reader.status())) return reader.status();
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

absl::StatusOr<std::unique_ptr<OpenFile>> DumpTree::OpenVmware(
    const std::shared_ptr<Inode>& inode, const Caller& caller) {
  std::vector<std::string> contexts = options_.ve_contexts;
  for (const std::string& c : DefaultVeContexts()) {
    if (std::find(contexts.begin(), contexts.end(), c) == contexts.end())
      contexts.push_back(c);
  }
  std::optional<std::string> verified;
  {
    absl::MutexLock lock(&inode->mu);
    verified = inode->ve_verified;
  }
  auto fail = [&](absl::string_view event, const absl::Status& status) {
    LogLine(status.message());
    Audit(event, *inode, &caller, status);
    return status;
  };
  const std::string tried = absl::StrCat(
      "no context verifies its GCM tag (tried: ", absl::StrJoin(contexts, ", "),
      "); add one with -o ve_context=, or -o ve_unverified=allow");
  if (verified.has_value() && verified->empty() &&
      !options_.ve_allow_unverified) {
    return fail("integrity_failure",
                absl::DataLossError(absl::StrCat(inode->path, ": ", tried)));
  }
  auto fd = ReopenReadOnly(inode->fd.get());
  if (!fd.ok()) return Prefix(fd.status(), inode->path);
  auto header = ReadVeHeader(fd->get(), inode->ve->offset);
  if (absl::IsFailedPrecondition(header.status()))  // rewritten just now
    return absl::AbortedError("no longer an envelope");
  if (!header.ok())
    return fail("open_failed", Prefix(header.status(), inode->path));
  const KeyRef ref = RefOf(*inode);
  absl::StatusOr<SecretBytes> key = keys_->Resolve(ref);
  absl::StatusOr<std::unique_ptr<VeReader>> reader =
      key.ok()
          ? VeReader::Open(std::move(fd).value(), std::move(header).value(),
                           *key, contexts, !verified.has_value(), false)
          : key.status();
  if (!reader.ok()) {
    const bool no_key = !key.ok() || absl::IsUnauthenticated(reader.status());
    const absl::Status status = Prefix(
        reader.status(), absl::StrCat(inode->path, ": ", KeyRefString(ref)));
    if (no_key) {
      absl::MutexLock lock(&inode->mu);
      inode->key_error =
          absl::StrCat(KeyRefString(ref), ": ", reader.status().message());
    }
    return fail(no_key ? "key_missing" : "integrity_failure",
                no_key ? absl::UnauthenticatedError(status.message()) : status);
  }
  bool size_changed = false;
  {
    absl::MutexLock lock(&inode->mu);
    inode->key_error.clear();
    if (!inode->ve_verified.has_value())
      inode->ve_verified = (*reader)->verified_context().value_or("");
    verified = inode->ve_verified;
    size_changed = !inode->ve_size.has_value();
    inode->ve_size = (*reader)->size();
  }
  if (verified->empty() && !options_.ve_allow_unverified) {
    return fail("integrity_failure",
                absl::DataLossError(absl::StrCat(inode->path, ": ", tried)));
  }
  Audit("open", *inode, &caller, absl::OkStatus());
  return std::unique_ptr<OpenFile>(
      new OpenFile(this, inode, UniqueFd(), nullptr, std::move(reader).value(),
                   size_changed));
}

}  // namespace dumpcrypt
