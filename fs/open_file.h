// OpenFile: one open of a file of the mount (see NodeServer::Open): its node
// and the view it is read through.
#ifndef DUMPCRYPT_FS_OPEN_FILE_H_
#define DUMPCRYPT_FS_OPEN_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "envelope/envelope.h"
#include "fs/node.h"

namespace dumpcrypt {

class OpenFile {
 public:
  // Read fills `out` from `offset` of the file as the mount shows it and
  // returns the count, less than out.size() only at the end. For an
  // envelope it decrypts only the sectors the range touches; a failed
  // integrity check is DATA_LOSS, logged and audited with file and sector,
  // and no byte of the range is to be used. Thread-safe; reads run in
  // parallel. The NodeServer must outlive the OpenFile.
  absl::StatusOr<size_t> Read(uint64_t offset, absl::Span<uint8_t> out) const;

  const std::string& path() const;

  // size_changed is true when this open learned the file's exact size (an
  // envelope whose size is exact only once open): the kernel's attributes
  // are stale.
  bool size_changed() const { return size_changed_; }

 private:
  friend class NodeServer;
  OpenFile(const NodeServer* server, std::shared_ptr<Node> node,
           std::unique_ptr<RandomAccessView> view, bool size_changed)
      : server_(server),
        node_(std::move(node)),
        view_(std::move(view)),
        size_changed_(size_changed) {}

  const NodeServer* const server_;
  const std::shared_ptr<Node> node_;
  const std::unique_ptr<RandomAccessView> view_;
  const bool size_changed_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_OPEN_FILE_H_
