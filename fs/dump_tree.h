// DumpTree: the Tree (fs/tree.h) of a source folder.
#ifndef DUMPCRYPT_FS_DUMP_TREE_H_
#define DUMPCRYPT_FS_DUMP_TREE_H_

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/file_io.h"
#include "fs/audit_sink.h"
#include "fs/node.h"
#include "fs/tree.h"
#include "kms/key_cache.h"

namespace dumpcrypt {

// ReopenReadOnly opens the object behind an O_PATH descriptor for reading
// (through /proc/self/fd), with O_NOATIME where permitted.
absl::StatusOr<UniqueFd> ReopenReadOnly(int path_fd);

// An inode stands for one version of a source file: when a regular file
// changes (its change time or size), the next lookup reads it again and,
// unless it was and is a plain file, gives it a new inode, so that a dump
// sealed under a temporary name and renamed into place, or rewritten in
// place, never shows as what it was when first looked up.
// Lock order: DumpTree::mu_, then Node::mu.
class DumpTree final : public Tree {
 public:
  // Create opens `options.source`, which must be a folder. `keys` must
  // outlive the tree; `audit` may be null.
  static absl::StatusOr<std::unique_ptr<DumpTree>> Create(TreeOptions options,
                                                          KeyCache* keys,
                                                          AuditSink* audit);
  ~DumpTree() override;

  // The inode is new if the file changed since an earlier lookup (above).
  absl::StatusOr<Entry> Lookup(uint64_t parent,
                               const std::string& name) override;
  // The inode goes when no lookup is left.
  void Forget(uint64_t ino, uint64_t count) override;
  absl::StatusOr<struct stat> GetAttr(uint64_t ino) override;
  // ReadLink is a symlink's target; one that names a file of its own folder
  // gives that file's name as the mount shows it.
  absl::StatusOr<std::string> ReadLink(uint64_t ino) override;
  // Entries carry the source's inode numbers.
  absl::StatusOr<std::vector<DirEntry>> ReadDir(uint64_t ino) override;
  // ABORTED if the file changed since `ino` was looked up, except a plain
  // file that is still one: look it up again (FUSE: ESTALE, which makes the
  // kernel do that).
  absl::StatusOr<std::unique_ptr<OpenFile>> Open(uint64_t ino,
                                                 const Caller& caller) override;
  bool OpenMayWait(uint64_t ino) override;
  absl::StatusOr<std::string> GetXattr(uint64_t ino,
                                       const std::string& name) override;
  absl::StatusOr<std::vector<std::string>> ListXattr(uint64_t ino) override;
  absl::StatusOr<struct statvfs> StatFs() override;

  // InodeCount is the number of inodes held, the root included.
  size_t InodeCount() const;

 private:
  using Kind = Node::Kind;
  struct Inode : Node {
    dev_t src_dev = 0;
    ino_t src_ino = 0;
    // Regular files: the change time and size the file had when read.
    struct timespec seen_ctime ABSL_GUARDED_BY(mu) = {};
    off_t seen_size ABSL_GUARDED_BY(mu) = 0;
    bool Seen(const struct stat& st) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    void See(const struct stat& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    uint64_t nlookup ABSL_GUARDED_BY(mu) = 0;
  };

  DumpTree(const TreeOptions& options, UniqueFd root_fd, KeyCache* keys,
           AuditSink* audit)
      : root_fd_(std::move(root_fd)),
        suffixes_(FolderNames::ShownSuffixes(options.suffix)),
        server_(options.node, keys, audit) {}
  std::shared_ptr<Inode> Get(uint64_t ino) const;
  FolderNames NamesIn(int dir_fd) const;
  absl::StatusOr<std::shared_ptr<Inode>> MakeInode(int fd,
                                                   const struct stat& st,
                                                   std::string path);
  // Reach opens `inode`'s source object by its path from the root (`flags`,
  // never following a symlink at the end) and checks it is the object
  // looked up: ABORTED if the path now names another one.
  absl::StatusOr<UniqueFd> Reach(const Inode& inode, int flags) const;
  // StatOf is Reach's check without a descriptor.
  absl::StatusOr<struct stat> StatOf(const Inode& inode) const;
  // NoteLimit logs, once, that the daemon ran out of descriptors.
  absl::Status NoteLimit(absl::Status status) const;
  static absl::Status Classify(int path_fd, Node& node);
  absl::Status CheckCurrent(Inode& inode) const;
  struct stat Attr(const Inode& inode, struct stat st) const;

  const UniqueFd root_fd_;  // O_PATH to the source folder
  const std::vector<std::string> suffixes_;
  const NodeServer server_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<Inode>> inodes_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<dev_t, ino_t>, uint64_t> by_source_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ino_ ABSL_GUARDED_BY(mu_) = kRootIno + 1;
  mutable std::atomic<bool> limit_logged_{false};
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_DUMP_TREE_H_
