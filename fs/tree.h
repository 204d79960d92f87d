// Tree: the FUSE-free file system dumpcryptfs serves, read-only, each
// envelope decrypted under its name without the suffix. DumpTree shows a
// folder; BundleTree the members of an uncompressed tar. Looking up, listing
// and stat-ing read only cleartext headers and never ask for a key; keys are
// resolved when a file is opened.
#ifndef DUMPCRYPT_FS_TREE_H_
#define DUMPCRYPT_FS_TREE_H_

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fs/audit_sink.h"
#include "fs/node.h"

namespace dumpcrypt {

class OpenFile;

struct TreeOptions {
  std::string source;  // the folder (or tar) shown
  // Envelopes are shown without their format's suffix (EnvelopeFormat); this
  // one replaces the native format's ".dce" ("" strips none).
  std::string suffix = ".dce";
  NodeOptions node;  // how files are opened
};

// Status codes of every method: NOT_FOUND no such entry; UNAUTHENTICATED no
// usable key (open only); UNAVAILABLE a key source could not be reached
// (open only); DATA_LOSS damaged envelope or failed integrity check;
// FAILED_PRECONDITION no such attribute; OUT_OF_RANGE value too large;
// ABORTED the file changed since the inode was looked up (open only).
// All methods are thread-safe.
class Tree {
 public:
  static constexpr uint64_t kRootIno = 1;

  virtual ~Tree() = default;

  struct Entry {
    uint64_t ino;
    struct stat attr;
  };
  // Lookup finds `name` in folder `parent` and counts one lookup of it.
  virtual absl::StatusOr<Entry> Lookup(uint64_t parent,
                                       const std::string& name) = 0;
  // Forget drops `count` lookups; the inode may go when none are left.
  virtual void Forget(uint64_t ino, uint64_t count) = 0;
  virtual absl::StatusOr<struct stat> GetAttr(uint64_t ino) = 0;
  virtual absl::StatusOr<std::string> ReadLink(uint64_t ino) = 0;

  struct DirEntry {
    std::string name;
    mode_t type;  // S_IFDIR, S_IFREG, ...
    ino_t ino;    // never 0 (readdir skips 0)
  };
  // ReadDir lists folder `ino` as the mount shows it, "." and ".." first.
  virtual absl::StatusOr<std::vector<DirEntry>> ReadDir(uint64_t ino) = 0;

  // Open opens file `ino` for reading; for an envelope this resolves its key.
  virtual absl::StatusOr<std::unique_ptr<OpenFile>> Open(
      uint64_t ino, const Caller& caller) = 0;

  // OpenMayWait is true if Open(ino) may wait on a key source (a KMS that
  // hangs, a password's derivation): the FUSE layer runs such opens off the
  // threads that serve reads and lookups.
  virtual bool OpenMayWait(uint64_t ino) = 0;

  // GetXattr and ListXattr serve the read-only user.dumpcrypt.* attributes
  // of envelopes.
  virtual absl::StatusOr<std::string> GetXattr(uint64_t ino,
                                               const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListXattr(uint64_t ino) = 0;

  // StatFs describes the file system that holds the source.
  virtual absl::StatusOr<struct statvfs> StatFs() = 0;
};

// The naming rule both trees follow, over one folder of the source.
// `exists` says whether the folder has an entry of that name; `is_envelope`
// whether that entry is a regular file some format claims.
struct FolderNames {
  std::vector<std::string> suffixes;  // ShownSuffixes
  std::function<bool(const std::string&)> exists;
  std::function<bool(const std::string&)> is_envelope;

  // ShownSuffixes are the suffixes stripped, in order: `native` (the
  // option), then each other format's own.
  static std::vector<std::string> ShownSuffixes(const std::string& native);

  // Shown is the name the mount shows for the entry `name`: an envelope
  // loses its suffix unless the stripped name exists or belongs to an
  // envelope with a suffix that comes first.
  std::string Shown(const std::string& name) const;
  // Source maps a shown name back to its entry; NOT_FOUND if none.
  absl::StatusOr<std::string> Source(const std::string& shown) const;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_TREE_H_
