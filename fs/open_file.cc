#include "fs/open_file.h"

#include "base/status_macros.h"
#include "fs/log.h"

namespace dumpcrypt {

const std::string& OpenFile::path() const { return node_->path; }

absl::StatusOr<size_t> OpenFile::Read(uint64_t offset,
                                      absl::Span<uint8_t> out) const {
  absl::StatusOr<size_t> got = view_->ReadAt(offset, out);
  if (!got.ok() && node_->kind == Node::Kind::kEnvelope) {
    absl::Status status = Prefix(got.status(), node_->path);
    LogLine(status.message());
    if (absl::IsDataLoss(status))
      server_->Audit("integrity_failure", *node_, nullptr, status);
    return status;
  }
  return got;
}

}  // namespace dumpcrypt
