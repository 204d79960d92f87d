// BundleTree: the Tree (fs/tree.h) of an uncompressed tar, a support bundle
// (`dumpcrypt bundle`) mounted as it is: its members as folders and files,
// envelopes decrypted, every read going to the member's bytes inside the
// tar. Nothing is extracted and nothing is written.
#ifndef DUMPCRYPT_FS_BUNDLE_TREE_H_
#define DUMPCRYPT_FS_BUNDLE_TREE_H_

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/file_io.h"
#include "fs/audit_sink.h"
#include "fs/node.h"
#include "fs/tree.h"
#include "kms/key_cache.h"

namespace dumpcrypt {

// The tree is read once, at Create, and does not change. Every file and
// folder shows the tar file's owner and its read permissions (whoever may
// read the tar may read what it holds), and its member's modification time.
// Member paths that leave the tar's root ("..") or are absolute are skipped
// with a log line; a later member of the same path replaces an earlier one,
// as tar does. Only dumpcrypt envelopes are opened in place; other members
// (VMware .ve files too) show as they are.
class BundleTree final : public Tree {
 public:
  // Create reads the member list of the tar `options.source`.
  // INVALID_ARGUMENT if it is compressed or not a tar (ListTar); DATA_LOSS
  // if it is damaged. `keys` must outlive the tree; `audit` may be null.
  static absl::StatusOr<std::unique_ptr<BundleTree>> Create(
      const TreeOptions& options, KeyCache* keys, AuditSink* audit);

  absl::StatusOr<Entry> Lookup(uint64_t parent,
                               const std::string& name) override;
  void Forget(uint64_t, uint64_t) override {}  // nodes live as long as the tree
  absl::StatusOr<struct stat> GetAttr(uint64_t ino) override;
  // INVALID_ARGUMENT: a bundle holds no symlinks.
  absl::StatusOr<std::string> ReadLink(uint64_t ino) override;
  absl::StatusOr<std::vector<DirEntry>> ReadDir(uint64_t ino) override;
  // DATA_LOSS if the tar changed since it was mounted.
  absl::StatusOr<std::unique_ptr<OpenFile>> Open(uint64_t ino,
                                                 const Caller& caller) override;
  bool OpenMayWait(uint64_t ino) override;
  absl::StatusOr<std::string> GetXattr(uint64_t ino,
                                       const std::string& name) override;
  absl::StatusOr<std::vector<std::string>> ListXattr(uint64_t ino) override;
  absl::StatusOr<struct statvfs> StatFs() override;

 private:
  struct Item : Node {
    int64_t mtime = 0;
    std::map<std::string, uint64_t> children;  // folders: shown name -> ino
  };

  BundleTree(const TreeOptions& options, UniqueFd fd, const struct stat& st,
             KeyCache* keys, AuditSink* audit)
      : source_(options.source),
        fd_(std::move(fd)),
        at_mount_(st),
        server_(options.node, keys, audit) {}
  std::shared_ptr<Item> Get(uint64_t ino) const;
  struct stat Attr(const Item& item) const;

  const std::string source_;
  const UniqueFd fd_;
  const struct stat at_mount_;
  const NodeServer server_;
  std::vector<std::shared_ptr<Item>> items_;  // items_[ino - 1]; set at Create
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_BUNDLE_TREE_H_
