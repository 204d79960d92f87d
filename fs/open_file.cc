#include "fs/open_file.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "fs/log.h"

namespace dumpcrypt {
namespace {

constexpr absl::string_view kUnverifiedHint =
    "; or serve it unverified with -o ve_unverified=allow";

// EventOf names the audit event of a failed open of an envelope.
absl::string_view EventOf(const absl::Status& status) {
  if (absl::IsUnauthenticated(status)) return "key_missing";
  if (absl::IsUnavailable(status)) return "key_unreachable";
  if (absl::IsDataLoss(status)) return "integrity_failure";
  return "open_failed";
}

}  // namespace

const std::string& OpenFile::path() const { return inode_->path; }

absl::StatusOr<size_t> OpenFile::Read(uint64_t offset,
                                      absl::Span<uint8_t> out) const {
  absl::StatusOr<size_t> got = view_->ReadAt(offset, out);
  if (!got.ok() && inode_->kind == DumpTree::Kind::kEnvelope) {
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
      return std::unique_ptr<OpenFile>(new OpenFile(
          this, inode, std::make_unique<PlainFileView>(*std::move(fd)), false));
    }
    case Kind::kBrokenEnvelope: {
      absl::Status status =
          absl::DataLossError(absl::StrCat(inode->path, ": ", inode->broken));
      LogLine(status.message());
      Audit("integrity_failure", *inode, &caller, status);
      return status;
    }
    case Kind::kEnvelope:
      return OpenEnvelope(inode, caller);
    default:
      return absl::InvalidArgumentError(inode->path + " is not a file");
  }
}

absl::StatusOr<std::unique_ptr<OpenFile>> DumpTree::OpenEnvelope(
    const std::shared_ptr<Inode>& inode, const Caller& caller) {
  const Envelope& envelope = *inode->envelope;
  auto fail = [&](absl::string_view event, const absl::Status& status) {
    LogLine(status.message());
    Audit(event, *inode, &caller, status);
    return status;
  };
  auto unverified = [&](const absl::Status& tag) {
    return fail("integrity_failure",
                absl::DataLossError(absl::StrCat(
                    inode->path, ": ", tag.message(), kUnverifiedHint)));
  };
  std::optional<absl::Status> tag;
  {
    absl::MutexLock lock(&inode->mu);
    tag = inode->file_tag;
  }
  // A whole-file tag that failed before is not checked again on each open.
  if (tag.has_value() && !tag->ok() && !options_.ve_allow_unverified)
    return unverified(*tag);
  auto fd = ReopenReadOnly(inode->fd.get());
  if (!fd.ok()) return Prefix(fd.status(), inode->path);
  const OpenPolicy policy{options_.ve_contexts, !tag.has_value(), false};
  absl::StatusOr<std::unique_ptr<EnvelopeView>> view =
      envelope.Open(*std::move(fd), *keys_, policy);
  if (absl::IsAborted(view.status())) return view.status();
  if (!view.ok()) {
    const absl::Status& cause = view.status();
    if (absl::IsUnauthenticated(cause) || absl::IsUnavailable(cause)) {
      absl::MutexLock lock(&inode->mu);
      inode->key_error = absl::StrCat(
          absl::IsUnavailable(cause) ? "unreachable: " : "missing: ",
          cause.message());
    }
    return fail(EventOf(cause), Prefix(cause, inode->path));
  }
  bool size_changed = false;
  {
    absl::MutexLock lock(&inode->mu);
    inode->key_error.clear();
    if (!inode->file_tag.has_value()) {
      inode->file_tag = (*view)->file_tag_status();
      inode->verified_context = (*view)->verified_context();
    }
    tag = inode->file_tag;
    if (!envelope.size_exact()) {
      size_changed = !inode->exact_size.has_value();
      inode->exact_size = (*view)->size();
    }
  }
  if (!tag->ok() && !options_.ve_allow_unverified) return unverified(*tag);
  Audit("open", *inode, &caller, absl::OkStatus());
  return std::unique_ptr<OpenFile>(
      new OpenFile(this, inode, *std::move(view), size_changed));
}

}  // namespace dumpcrypt
