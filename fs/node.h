// Node and NodeServer: what the mount knows of one file it shows, whatever
// holds its bytes (a file of the source folder, a member of a tar), and how
// it is opened, described and audited. DumpTree and BundleTree keep the
// nodes; NodeServer holds what serving them needs (the key cache, the audit
// sink, the VMware tag policy).
#ifndef DUMPCRYPT_FS_NODE_H_
#define DUMPCRYPT_FS_NODE_H_

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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

struct Node {
  enum class Kind { kDir, kEnvelope, kBrokenEnvelope, kFile, kSymlink, kOther };

  uint64_t ino = 0;
  Kind kind = Kind::kOther;
  std::string path;  // relative to the source, for messages
  std::shared_ptr<const Envelope> envelope;  // kEnvelope
  std::string broken;                        // why a broken envelope is
  // Where the bytes lie in the file an open reads (a tar member): from
  // `base`, `length` bytes (to the end of the file if none).
  uint64_t base = 0;
  std::optional<uint64_t> length;

  mutable absl::Mutex mu;
  // Why the last open found no key: "missing: ..." or "unreachable: ...".
  std::string key_error ABSL_GUARDED_BY(mu);
  // Envelopes whose size is exact only once open: that size.
  std::optional<uint64_t> exact_size ABSL_GUARDED_BY(mu);
  // Envelopes with a whole-file tag, after its check at the first open:
  // its outcome, and the context it verified with.
  std::optional<absl::Status> file_tag ABSL_GUARDED_BY(mu);
  std::optional<std::string> verified_context ABSL_GUARDED_BY(mu);

  // Classify sets kind, envelope and broken from what the formats make of
  // the bytes at base/length of `fd` (a regular file open for reading).
  void Classify(int fd);
};

// DecryptGrant lets a user or a group decrypt through the mount: every
// envelope, or (scoped) only envelopes one of whose key references names the
// provider, or the keyID, given.
struct DecryptGrant {
  enum class Scope { kAll, kProvider, kKeyId };
  bool group = false;
  uint32_t id = 0;  // uid or gid
  Scope scope = Scope::kAll;
  std::string name;  // the provider or keyID of a scoped grant
};

// DecryptPolicy says who may open envelopes (and so read plaintext) through
// the mount, whatever the file modes allow: root, the mounting user, and
// whom the grants name. Plain files follow their modes alone.
struct DecryptPolicy {
  uint32_t owner = 0;  // the mounting user
  std::vector<DecryptGrant> grants;

  // Allows is true for root, the owner, or a caller that a grant covering
  // an envelope with key references `refs` names by uid, by group or by
  // one of its supplementary groups.
  bool Allows(const Caller& caller, const std::vector<KeyRef>& refs) const;
  // Describe names who may open such an envelope, for messages: "root,
  // uid 1000, gid 4242".
  std::string Describe(const std::vector<KeyRef>& refs) const;
};

struct NodeOptions {
  // Formats whose tag covers the whole file (VMware .ve): the tag is checked
  // on the first open with these contexts (then the format's known ones).
  std::vector<std::string> ve_contexts;
  bool ve_allow_unverified = false;  // serve files no context verifies
  DecryptPolicy decrypt;
};

// Status codes as DumpTree's (dump_tree.h). Thread-safe.
class NodeServer {
 public:
  // `keys` must outlive the server; `audit` may be null.
  NodeServer(NodeOptions options, KeyCache* keys, AuditSink* audit)
      : options_(std::move(options)), keys_(keys), audit_(audit) {}

  // Open opens `node`, a file, read through `fd` (open for reading on the
  // file that holds its bytes); for an envelope this resolves its key, if
  // the decrypt policy allows `caller` (else PERMISSION_DENIED, audited as
  // "decrypt_refused", and no key is asked for).
  absl::StatusOr<std::unique_ptr<OpenFile>> Open(
      const std::shared_ptr<Node>& node, UniqueFd fd,
      const Caller& caller) const;

  // OpenMayWait is true if opening `node` may wait on a key source or a
  // password's derivation: an envelope whose first key is not answered from
  // the cache, or that opens with a password or identity only.
  bool OpenMayWait(const Node& node) const;

  // ShowSize sets the size `st` shows for `node`: an envelope's view size (at
  // most, until open), 0 for a broken envelope, a member's length.
  void ShowSize(const Node& node, struct stat& st) const;

  // GetXattr and ListXattr serve the read-only user.dumpcrypt.* attributes
  // of envelopes.
  absl::StatusOr<std::string> GetXattr(const Node& node,
                                       const std::string& name) const;
  std::vector<std::string> ListXattr(const Node& node) const;

  // Audit reports `event` about `node` to the sink, if there is one.
  void Audit(absl::string_view event, const Node& node, const Caller* caller,
             const absl::Status& status) const;

 private:
  absl::StatusOr<std::unique_ptr<OpenFile>> OpenEnvelope(
      const std::shared_ptr<Node>& node, UniqueFd fd,
      const Caller& caller) const;
  std::string KeyStatus(const Node& node) const;

  const NodeOptions options_;
  KeyCache* const keys_;
  AuditSink* const audit_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_FS_NODE_H_
