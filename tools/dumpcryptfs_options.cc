#include "tools/dumpcryptfs_options.h"

#include <grp.h>
#include <pwd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace dumpcrypt {

const char kDumpcryptfsUsage[] =
    "usage: dumpcryptfs [-f] [-o OPTIONS] SOURCE MOUNTPOINT\n"
    "\n"
    "Shows the folder SOURCE read-only at MOUNTPOINT, each dumpcrypt envelope\n"
    "decrypted under its name without the suffix. SOURCE may also be a "
    "support\n"
    "bundle (an uncompressed tar from dumpcrypt bundle): its members are "
    "shown\n"
    "as they are stored, read in place, never extracted. Listing and stat "
    "never "
    "need a\n"
    "key; a file's key is fetched by its keyID when the file is first opened, "
    "and\n"
    "reads decrypt only the sectors they touch. Nothing decrypted is written "
    "to\n"
    "disk. Unmount with: fusermount3 -u MOUNTPOINT (or SIGINT/SIGTERM).\n"
    "\n"
    "dumpcryptfs options:\n"
    "    -o keystore=PATH       local key store to take keys from\n"
    "    -o kms=CONFIG          KMIP key providers (TOML; see README), alone "
    "or after keystore\n"
    "    -o vmware_keystore=FILE  ESXi encryption.info (mode NONE), for VMware "
    ".ve files\n"
    "    -o password_file=FILE  password (first line of FILE, mode 0600) of "
    "password\n"
    "                           slots, as support bundles have (alias:\n"
    "                           bundle_password_file=FILE)\n"
    "    -o identity=KEY.pem    private key (mode 0600) of recipient slots\n"
    "    -o ve_context=S        GCM context string to try first for .ve files "
    "(repeatable)\n"
    "    -o ve_unverified=allow serve .ve files whose tag no context verifies\n"
    "                           (user.dumpcrypt.verified then says no)\n"
    "    -o allow_other         let other users in (needs user_allow_other for "
    "non-root);\n"
    "                           they see names and sizes, and read plain files "
    "as\n"
    "                           their modes allow, but decrypt nothing unless "
    "named:\n"
    "    -o decrypt_user=USER   a user who may open envelopes besides root and "
    "the\n"
    "                           mounting user (name or uid; repeatable)\n"
    "    -o decrypt_group=GROUP members of GROUP may too (name or gid; "
    "repeatable)\n"
    "                           Either may end in :provider=NAME or :key=KEYID "
    "to\n"
    "                           grant only envelopes one of whose key slots "
    "names\n"
    "                           that provider or keyID\n"
    "    -o direct_io           strict mode: no kernel page cache for "
    "decrypted data\n"
    "                           (a mapping's pages are dropped when its file "
    "is\n"
    "                           closed and unmapped);\n"
    "                           every read is decrypted anew, so a second "
    "pass\n"
    "                           over a file costs as much as the first\n"
    "    -o audit_log=FILE      append a JSON line per event (mount, open, key "
    "fetched,\n"
    "                           key missing, integrity failure, unmount)\n"
    "    -o idle=SECONDS        drop keys unused that long (fetched again when "
    "needed)\n"
    "    -o negative_ttl=SECONDS  retry a missing key after this long (default "
    "10)\n"
    "    -o suffix=SUFFIX       suffix stripped from envelope names (default "
    ".dce)\n"
    "    -o read_ahead_kb=N     kernel read-ahead of the mount in KiB, "
    "0..65536\n"
    "                           (default 2048; 0 keeps the kernel's 128; "
    "raising it\n"
    "                           needs root)\n"
    "    -f                     stay in the foreground\n"
    "    -d                     debug output (implies -f)\n"
    "    -h, --help             this help;  -V, --version  the version\n"
    "\n"
    "Errors: a missing or wrong key fails open() with ENOKEY; a caller the "
    "decrypt\n"
    "policy does not name, with EACCES; a sector that "
    "fails\n"
    "its integrity check fails that read with EIO; every write answers EROFS.\n"
    "A damaged envelope shows with size 0 and fails open() with EIO; its\n"
    "attribute user.dumpcrypt.error says why (getfattr -d).\n"
    "Also works from /etc/fstab:\n"
    "    /var/crash  /mnt/dumps  fuse.dumpcryptfs  "
    "keystore=/etc/dumpcrypt/keys  0 0\n";

namespace {

enum {
  kKeyHelp,
  kKeyVersion,
  kKeyDiscard,
  kKeyVeContext,
  kKeyNumber,
  kKeyDecryptUser,
  kKeyDecryptGroup
};

// IdOf resolves a user or group name, or takes a number as it is.
bool IdOf(absl::string_view text, bool group, uint32_t* id) {
  if (absl::SimpleAtoi(text, id)) return true;
  const std::string name(text);
  if (group) {
    const struct group* g = ::getgrnam(name.c_str());
    if (g != nullptr) *id = g->gr_gid;
    return g != nullptr;
  }
  const struct passwd* u = ::getpwnam(name.c_str());
  if (u != nullptr) *id = u->pw_uid;
  return u != nullptr;
}

// The numeric options, parsed here: fuse_opt's %u takes "-5" for 4294967291.
struct NumberOption {
  absl::string_view name;
  unsigned MountConfig::*field;
  uint32_t max;
};
constexpr NumberOption kNumberOptions[] = {
    {"idle", &MountConfig::idle, UINT32_MAX},
    {"negative_ttl", &MountConfig::negative_ttl, UINT32_MAX},
    {"read_ahead_kb", &MountConfig::read_ahead_kb, 65536},
};

const fuse_opt kOptions[] = {
    {"keystore=%s", offsetof(MountConfig, keystore), 0},
    {"kms=%s", offsetof(MountConfig, kms), 0},
    {"vmware_keystore=%s", offsetof(MountConfig, vmware_keystore), 0},
    {"password_file=%s", offsetof(MountConfig, password_file), 0},
    {"bundle_password_file=%s", offsetof(MountConfig, password_file), 0},
    {"identity=%s", offsetof(MountConfig, identity), 0},
    {"ve_unverified=%s", offsetof(MountConfig, ve_unverified), 0},
    FUSE_OPT_KEY("ve_context=", kKeyVeContext),
    FUSE_OPT_KEY("decrypt_user=", kKeyDecryptUser),
    FUSE_OPT_KEY("decrypt_group=", kKeyDecryptGroup),
    {"audit_log=%s", offsetof(MountConfig, audit_log), 0},
    {"suffix=%s", offsetof(MountConfig, suffix), 0},
    {"direct_io", offsetof(MountConfig, direct_io), 1},
    FUSE_OPT_KEY("idle=", kKeyNumber),
    FUSE_OPT_KEY("negative_ttl=", kKeyNumber),
    FUSE_OPT_KEY("read_ahead_kb=", kKeyNumber),
    FUSE_OPT_KEY("-h", kKeyHelp),
    FUSE_OPT_KEY("--help", kKeyHelp),
    FUSE_OPT_KEY("-V", kKeyVersion),
    FUSE_OPT_KEY("--version", kKeyVersion),
    // The mount is read-only whatever mount(8) passes.
    FUSE_OPT_KEY("ro", kKeyDiscard),
    FUSE_OPT_KEY("rw", kKeyDiscard),
    FUSE_OPT_END,
};

int OptProc(void* data, const char* arg, int key, fuse_args*) {
  auto* config = static_cast<MountConfig*>(data);
  switch (key) {
    case kKeyHelp:
      config->help = 1;
      return 0;
    case kKeyVersion:
      config->version = 1;
      return 0;
    case kKeyDiscard:
      return 0;
    case kKeyVeContext:
      config->ve_contexts->push_back(arg + std::strlen("ve_context="));
      return 0;
    case kKeyDecryptUser:
    case kKeyDecryptGroup: {
      const absl::string_view value = absl::string_view(arg).substr(std::strlen(
          key == kKeyDecryptGroup ? "decrypt_group=" : "decrypt_user="));
      absl::StatusOr<DecryptGrant> grant =
          ParseDecryptGrant(value, key == kKeyDecryptGroup);
      if (!grant.ok()) {
        std::fprintf(stderr, "dumpcryptfs: %s: %s\n", arg,
                     std::string(grant.status().message()).c_str());
        return -1;
      }
      config->decrypt->grants.push_back(*std::move(grant));
      return 0;
    }
    case kKeyNumber: {
      const absl::string_view opt(arg);
      const size_t eq = opt.find('=');
      for (const NumberOption& n : kNumberOptions) {
        if (opt.substr(0, eq) != n.name) continue;
        uint32_t value = 0;
        if (!absl::SimpleAtoi(opt.substr(eq + 1), &value) || value > n.max) {
          std::fprintf(stderr, "dumpcryptfs: %s: must be a number 0..%u\n", arg,
                       n.max);
          return -1;
        }
        config->*n.field = value;
      }
      return 0;
    }
    case FUSE_OPT_KEY_NONOPT:
      if (config->source == nullptr) {
        config->source = strdup(arg);
        return 0;
      }
      return 1;  // the mountpoint, for fuse_parse_cmdline
    default:
      return 1;
  }
}

}  // namespace

MountCommandLine::MountCommandLine(int argc, char** argv)
    : args(FUSE_ARGS_INIT(argc, argv)) {
  config.ve_contexts = &ve_contexts;
  config.decrypt = &decrypt;
}

MountCommandLine::~MountCommandLine() {
  fuse_opt_free_args(&args);
  free(cmdline.mountpoint);
  for (char* s : {config.keystore, config.kms, config.vmware_keystore,
                  config.password_file, config.identity, config.ve_unverified,
                  config.audit_log, config.suffix, config.source}) {
    free(s);
  }
}

bool MountCommandLine::ParseOptions() {
  if (fuse_opt_parse(&args, &config, kOptions, OptProc) != 0) return false;
  for (char** path :
       {&config.keystore, &config.kms, &config.vmware_keystore,
        &config.password_file, &config.identity, &config.audit_log}) {
    if (*path == nullptr || **path == '/' || **path == '\0') continue;
    std::error_code error;
    const std::filesystem::path absolute =
        std::filesystem::absolute(*path, error);
    if (error) {
      std::fprintf(stderr, "dumpcryptfs: %s: %s\n", *path,
                   error.message().c_str());
      return false;
    }
    free(*path);
    *path = strdup(absolute.c_str());
  }
  return true;
}

absl::StatusOr<DecryptGrant> ParseDecryptGrant(absl::string_view value,
                                               bool group) {
  DecryptGrant grant;
  grant.group = group;
  const size_t colon = value.find(':');
  if (colon != absl::string_view::npos) {
    const absl::string_view scope = value.substr(colon + 1);
    if (absl::StartsWith(scope, "provider=")) {
      grant.scope = DecryptGrant::Scope::kProvider;
      grant.name = std::string(scope.substr(std::strlen("provider=")));
    } else if (absl::StartsWith(scope, "key=")) {
      grant.scope = DecryptGrant::Scope::kKeyId;
      grant.name = std::string(scope.substr(std::strlen("key=")));
    }
    if (grant.scope == DecryptGrant::Scope::kAll || grant.name.empty()) {
      return absl::InvalidArgumentError(
          "after ':' give provider=NAME or key=KEYID");
    }
    value = value.substr(0, colon);
  }
  if (!IdOf(value, group, &grant.id))
    return absl::NotFoundError(group ? "no such group" : "no such user");
  return grant;
}

}  // namespace dumpcrypt
