// The command line of dumpcryptfs: its -o options, parsed with libfuse's
// fuse_opt and checked, and its usage text.
#ifndef DUMPCRYPT_TOOLS_DUMPCRYPTFS_OPTIONS_H_
#define DUMPCRYPT_TOOLS_DUMPCRYPTFS_OPTIONS_H_

#include <fuse_lowlevel.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fs/fuse_ops.h"
#include "fs/node.h"

namespace dumpcrypt {

// kDumpcryptfsUsage is --help's text, before libfuse's own options.
extern const char kDumpcryptfsUsage[];

// ParseDecryptGrant reads a decrypt_user= (`group` false) or decrypt_group=
// value: a name or number, optionally followed by ":provider=NAME" or
// ":key=KEYID". NOT_FOUND for an unknown user or group, INVALID_ARGUMENT for
// another scope.
absl::StatusOr<DecryptGrant> ParseDecryptGrant(absl::string_view value,
                                               bool group);

// MountConfig holds the -o options; libfuse's fuse_opt writes into it.
struct MountConfig {
  char* keystore = nullptr;
  char* kms = nullptr;
  char* vmware_keystore = nullptr;
  char* password_file = nullptr;
  char* identity = nullptr;
  char* ve_unverified = nullptr;
  std::vector<std::string>* ve_contexts = nullptr;  // every ve_context=
  DecryptPolicy* decrypt = nullptr;  // every decrypt_user=, decrypt_group=
  char* audit_log = nullptr;
  char* suffix = nullptr;
  int direct_io = 0;
  unsigned idle = 0;
  unsigned negative_ttl = 10;
  unsigned read_ahead_kb = ServeOptions{}.read_ahead_kb;
  char* source = nullptr;
  int help = 0;
  int version = 0;
};

// MountCommandLine owns argv's parse and what libfuse allocates for it.
class MountCommandLine {
 public:
  MountCommandLine(int argc, char** argv);
  ~MountCommandLine();
  MountCommandLine(const MountCommandLine&) = delete;
  MountCommandLine& operator=(const MountCommandLine&) = delete;

  // ParseOptions fills `config` from the -o options and SOURCE, leaving
  // libfuse's own options and MOUNTPOINT in `args` for fuse_parse_cmdline.
  // The paths of key sources and of the audit log become absolute: the
  // daemon changes to / when it detaches, and reads key stores again later.
  // False, after a line on stderr, for an option it cannot take.
  bool ParseOptions();

  fuse_args args;
  MountConfig config;
  std::vector<std::string> ve_contexts;
  DecryptPolicy decrypt;  // its grants; the owner is the caller's
  fuse_cmdline_opts cmdline = {};
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_TOOLS_DUMPCRYPTFS_OPTIONS_H_
