// DumpTree: the FUSE-free core of dumpcryptfs. It shows a source folder
// read-only, each envelope decrypted under its name without the suffix.
// Looking up, listing and stat-ing read only cleartext headers and never
// ask for a key; keys are resolved when a file is opened (open_file.h).
#ifndef DUMPCRYPT_FS_DUMP_TREE_H_
#define DUMPCRYPT_FS_DUMP_TREE_H_

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/file_io.h"
#include "envelope/envelope.h"
#include "fs/audit_sink.h"
#include "kms/key_cache.h"

namespace dumpcrypt {

class OpenFile;

// ReopenReadOnly opens the object behind an O_PATH descriptor for reading
// (through /proc/self/fd), with O_NOATIME where permitted.
absl::StatusOr<UniqueFd> ReopenReadOnly(int path_fd);

struct TreeOptions {
  std::string source;  // the folder shown
  // Envelopes are shown without their format's suffix (EnvelopeFormat); this
  // one replaces the native format's ".dce" ("" strips none).
  std::string suffix = ".dce";
  // Formats whose tag covers the whole file (VMware .ve): the tag is checked
  // on the first open with these contexts (then the format's known ones).
  std::vector<std::string> ve_contexts;
  bool ve_allow_unverified = false;  // serve files no context verifies
};

// Status codes of every method: NOT_FOUND no such entry; UNAUTHENTICATED no
// usable key (open only); UNAVAILABLE a key source could not be reached
// (open only); DATA_LOSS damaged envelope or failed integrity check;
// FAILED_PRECONDITION no such attribute; OUT_OF_RANGE value too large;
// ABORTED the file changed since the inode was looked up (open only).
//
// An inode stands for one version of a source file: when a regular file
// changes (its change time or size), the next lookup reads it again and,
// unless it was and is a plain file, gives it a new inode, so that a dump
// sealed under a temporary name and renamed into place, or rewritten in
// place, never shows as what it was when first looked up.
// All methods are thread-safe. Lock order: DumpTree::mu_, then Inode::mu_.
class DumpTree {
 public:
  static constexpr uint64_t kRootIno = 1;

  // Create opens `options.source`, which must be a folder. `keys` must
  // outlive the tree; `audit` may be null.
  static absl::StatusOr<std::unique_ptr<DumpTree>> Create(TreeOptions options,
                                                          KeyCache* keys,
                                                          AuditSink* audit);
  ~DumpTree();

  struct Entry {
    uint64_t ino;
    struct stat attr;
  };
  // Lookup finds `name` in folder `parent` and counts one lookup of it.
  // The inode is new if the file changed since an earlier lookup (above).
  absl::StatusOr<Entry> Lookup(uint64_t parent, const std::string& name);
  // Forget drops `count` lookups; the inode goes when none are left.
  void Forget(uint64_t ino, uint64_t count);
  absl::StatusOr<struct stat> GetAttr(uint64_t ino);
  // ReadLink is a symlink's target; one that names a file of its own folder
  // gives that file's name as the mount shows it.
  absl::StatusOr<std::string> ReadLink(uint64_t ino);

  struct DirEntry {
    std::string name;
    mode_t type;  // S_IFDIR, S_IFREG, ...
    ino_t ino;    // the source's inode number; never 0 (readdir skips 0)
  };
  // ReadDir lists folder `ino` as the mount shows it, "." and ".." first.
  absl::StatusOr<std::vector<DirEntry>> ReadDir(uint64_t ino);

  // Open opens file `ino` for reading; for an envelope this resolves its key.
  // ABORTED if the file changed since `ino` was looked up, except a plain
  // file that is still one: look it up again (FUSE: ESTALE, which makes the
  // kernel do that).
  absl::StatusOr<std::unique_ptr<OpenFile>> Open(uint64_t ino,
                                                 const Caller& caller);

  // GetXattr and ListXattr serve the read-only user.dumpcrypt.* attributes
  // of envelopes.
  absl::StatusOr<std::string> GetXattr(uint64_t ino, const std::string& name);
  absl::StatusOr<std::vector<std::string>> ListXattr(uint64_t ino);

  // StatFs describes the source's file system.
  absl::StatusOr<struct statvfs> StatFs();

  // InodeCount is the number of inodes held, the root included.
  size_t InodeCount() const;

 private:
  enum class Kind { kDir, kEnvelope, kBrokenEnvelope, kFile, kSymlink, kOther };
  struct Inode {
    uint64_t ino = 0;
    dev_t src_dev = 0;
    ino_t src_ino = 0;
    UniqueFd fd;  // O_PATH to the source object
    Kind kind = Kind::kOther;
    std::string path;  // relative to the source, for messages
    std::shared_ptr<const Envelope> envelope;  // kEnvelope
    std::string broken;                        // why a broken envelope is
    mutable absl::Mutex mu;
    // Regular files: the change time and size the file had when read.
    struct timespec seen_ctime ABSL_GUARDED_BY(mu) = {};
    off_t seen_size ABSL_GUARDED_BY(mu) = 0;
    bool Seen(const struct stat& st) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    void See(const struct stat& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
    uint64_t nlookup ABSL_GUARDED_BY(mu) = 0;
    // Why the last open found no key: "missing: ..." or "unreachable: ...".
    std::string key_error ABSL_GUARDED_BY(mu);
    // Envelopes whose size is exact only once open: that size.
    std::optional<uint64_t> exact_size ABSL_GUARDED_BY(mu);
    // Envelopes with a whole-file tag, after its check at the first open:
    // its outcome, and the context it verified with.
    std::optional<absl::Status> file_tag ABSL_GUARDED_BY(mu);
    std::optional<std::string> verified_context ABSL_GUARDED_BY(mu);
  };
  friend class OpenFile;

  DumpTree(TreeOptions options, KeyCache* keys, AuditSink* audit)
      : options_(std::move(options)), keys_(keys), audit_(audit) {}
  std::shared_ptr<Inode> Get(uint64_t ino) const;
  absl::StatusOr<std::string> SourceName(const Inode& dir,
                                         const std::string& name) const;
  bool IsEnvelopeAt(int dir_fd, const std::string& name) const;
  std::vector<std::string> Suffixes() const;
  std::string ShownName(int dir_fd, const std::string& name) const;
  absl::StatusOr<std::unique_ptr<OpenFile>> OpenEnvelope(
      const std::shared_ptr<Inode>& inode, const Caller& caller);
  std::string KeyStatus(const Inode& inode) const;
  absl::StatusOr<std::shared_ptr<Inode>> MakeInode(UniqueFd fd,
                                                   const struct stat& st,
                                                   std::string path);
  absl::Status Classify(int path_fd, Inode& inode) const;
  absl::Status CheckCurrent(Inode& inode) const;
  struct stat Attr(const Inode& inode) const;
  void Audit(absl::string_view event, const Inode& inode, const Caller* caller,
             const absl::Status& status) const;

  const TreeOptions options_;
  KeyCache* const keys_;
  AuditSink* const audit_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<Inode>> inodes_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<dev_t, ino_t>, uint64_t> by_source_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ino_ ABSL_GUARDED_BY(mu_) = kRootIno + 1;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_DUMP_TREE_H_
