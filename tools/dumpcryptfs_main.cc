// dumpcryptfs: a read-only FUSE mount showing a folder of encrypted dumps
// decrypted. Usage: dumpcryptfs [-f] [-o OPTIONS] SOURCE MOUNTPOINT
#include <fuse_lowlevel.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "fs/audit_log.h"
#include "fs/dump_tree.h"
#include "fs/fuse_ops.h"
#include "fs/log.h"
#include "kms/key_cache.h"
#include "kms/kms_config.h"
#include "kms/local_keystore.h"
#include "kms/vmware_keystore.h"

namespace dumpcrypt {
namespace {

constexpr char kUsage[] =
    "usage: dumpcryptfs [-f] [-o OPTIONS] SOURCE MOUNTPOINT\n"
    "\n"
    "Shows the folder SOURCE read-only at MOUNTPOINT, each dumpcrypt envelope\n"
    "decrypted under its name without the suffix. Listing and stat never need "
    "a\n"
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
    "    -o ve_context=S        GCM context string to try first for .ve files "
    "(repeatable)\n"
    "    -o ve_unverified=allow serve .ve files whose tag no context verifies\n"
    "                           (user.dumpcrypt.verified then says no)\n"
    "    -o allow_other         let other users in (needs user_allow_other for "
    "non-root)\n"
    "    -o direct_io           strict mode: no kernel page cache for "
    "decrypted data\n"
    "                           (shared mappings fail with ENODEV; a private "
    "one's\n"
    "                           pages are dropped when its file is closed)\n"
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
    "    -o poll_us=N           while one process reads, poll N microseconds "
    "(0..1000)\n"
    "                           for its next request before sleeping (default "
    "30; 0\n"
    "                           never): faster small reads, for CPU time while "
    "they\n"
    "                           come; pauses when the reader comes back late\n"
    "    -f                     stay in the foreground\n"
    "    -d                     debug output (implies -f)\n"
    "    -h, --help             this help;  -V, --version  the version\n"
    "\n"
    "Errors: a missing or wrong key fails open() with ENOKEY; a sector that "
    "fails\n"
    "its integrity check fails that read with EIO; every write answers EROFS.\n"
    "Also works from /etc/fstab:\n"
    "    /var/crash  /mnt/dumps  fuse.dumpcryptfs  "
    "keystore=/etc/dumpcrypt/keys  0 0\n";

struct Config {
  char* keystore = nullptr;
  char* kms = nullptr;
  char* vmware_keystore = nullptr;
  char* ve_unverified = nullptr;
  std::vector<std::string>* ve_contexts = nullptr;
  char* audit_log = nullptr;
  char* suffix = nullptr;
  int direct_io = 0;
  unsigned idle = 0;
  unsigned negative_ttl = 10;
  unsigned read_ahead_kb = ServeOptions{}.read_ahead_kb;
  unsigned poll_us = ServeOptions{}.poll_us;
  char* source = nullptr;
  int help = 0;
  int version = 0;
};

// Parsed owns what libfuse's option parsing allocates, on every path out.
struct Parsed {
  explicit Parsed(int argc, char** argv) : args(FUSE_ARGS_INIT(argc, argv)) {}
  ~Parsed() {
    fuse_opt_free_args(&args);
    free(cmdline.mountpoint);
    for (char* s : {config.keystore, config.kms, config.vmware_keystore,
                    config.ve_unverified, config.audit_log, config.suffix,
                    config.source}) {
      free(s);
    }
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  fuse_args args;
  Config config;
  fuse_cmdline_opts cmdline = {};
};

enum { kKeyHelp, kKeyVersion, kKeyDiscard, kKeyVeContext, kKeyNumber };

// The numeric options, parsed here: fuse_opt's %u takes "-5" for 4294967291.
struct NumberOption {
  absl::string_view name;
  unsigned Config::*field;
  uint32_t max;
};
constexpr NumberOption kNumberOptions[] = {
    {"idle", &Config::idle, UINT32_MAX},
    {"negative_ttl", &Config::negative_ttl, UINT32_MAX},
    {"read_ahead_kb", &Config::read_ahead_kb, 65536},
    {"poll_us", &Config::poll_us, 1000},
};

const fuse_opt kOptions[] = {
    {"keystore=%s", offsetof(Config, keystore), 0},
    {"kms=%s", offsetof(Config, kms), 0},
    {"vmware_keystore=%s", offsetof(Config, vmware_keystore), 0},
    {"ve_unverified=%s", offsetof(Config, ve_unverified), 0},
    FUSE_OPT_KEY("ve_context=", kKeyVeContext),
    {"audit_log=%s", offsetof(Config, audit_log), 0},
    {"suffix=%s", offsetof(Config, suffix), 0},
    {"direct_io", offsetof(Config, direct_io), 1},
    FUSE_OPT_KEY("idle=", kKeyNumber),
    FUSE_OPT_KEY("negative_ttl=", kKeyNumber),
    FUSE_OPT_KEY("read_ahead_kb=", kKeyNumber),
    FUSE_OPT_KEY("poll_us=", kKeyNumber),
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
  auto* config = static_cast<Config*>(data);
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

// Harden makes sure a crash of the decryptor writes no core holding
// plaintext or keys, and keeps its memory out of swap where permitted.
void Harden() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core = {0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    LogLine(
        "warning: cannot lock memory (mlockall); keys are still locked where "
        "the limit allows");
  }
}

// RaiseFileLimit lifts the soft limit on open files (often 1024) to the
// hard one: the daemon holds a descriptor for each file the kernel has
// looked up until the kernel forgets it, so `ls -l` of a big folder needs
// one per file.
void RaiseFileLimit() {
  struct rlimit files;
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 ||
      files.rlim_cur >= files.rlim_max) {
    return;
  }
  files.rlim_cur = files.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &files) != 0) {
    LogLine(absl::StrCat("warning: cannot raise the open-file limit: ",
                         std::strerror(errno)));
  }
}

std::string EscapeOption(const std::string& value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {",", "\\,"}});
}

int Run(int argc, char** argv) {
  Parsed parsed(argc, argv);
  fuse_args& args = parsed.args;
  Config& config = parsed.config;
  std::vector<std::string> ve_contexts;
  config.ve_contexts = &ve_contexts;
  fuse_cmdline_opts& cmdline = parsed.cmdline;
  if (fuse_opt_parse(&args, &config, kOptions, OptProc) != 0) return 2;
  if (config.help) {
    std::printf("%s\nlibfuse options:\n", kUsage);
    fuse_cmdline_help();
    fuse_lowlevel_help();
    return 0;
  }
  if (config.version) {
    std::printf("dumpcryptfs %s (libfuse %s)\n", DUMPCRYPT_VERSION,
                fuse_pkgversion());
    return 0;
  }
  if (fuse_parse_cmdline(&args, &cmdline) != 0) return 2;
  if (config.source == nullptr || cmdline.mountpoint == nullptr) {
    std::fprintf(stderr, "dumpcryptfs: need SOURCE and MOUNTPOINT\n%s", kUsage);
    return 2;
  }
  if (config.keystore == nullptr && config.kms == nullptr &&
      config.vmware_keystore == nullptr) {
    std::fprintf(
        stderr,
        "dumpcryptfs: no key source: give -o keystore=PATH, -o kms=CONFIG or "
        "-o vmware_keystore=FILE\n");
    return 2;
  }
  if (config.ve_unverified != nullptr &&
      std::string(config.ve_unverified) != "allow") {
    std::fprintf(stderr, "dumpcryptfs: ve_unverified takes only 'allow'\n");
    return 2;
  }
  Harden();
  RaiseFileLimit();
  char* real_source = ::realpath(config.source, nullptr);
  if (real_source == nullptr) {
    LogLine(absl::StrCat("source folder ", config.source, ": ",
                         std::strerror(errno)));
    return 1;
  }
  const std::string source = real_source;
  free(real_source);
  const std::string mountpoint = cmdline.mountpoint;
  // Below the source, the mount would list itself, and a walk into it would
  // take every serving thread into the daemon's own mount and hang.
  if (char* real_mountpoint = ::realpath(cmdline.mountpoint, nullptr)) {
    const bool inside = absl::StartsWith(real_mountpoint,
                                         source == "/" ? source : source + "/");
    free(real_mountpoint);
    if (inside) {
      std::fprintf(stderr,
                   "dumpcryptfs: mountpoint %s is inside the source folder "
                   "%s; mount it elsewhere (or over the source itself)\n",
                   cmdline.mountpoint, source.c_str());
      return 2;
    }
  }

  std::vector<std::unique_ptr<KeyResolver>> sources;
  KmsResolver* kms = nullptr;
  if (config.keystore != nullptr) {
    auto store = LocalKeyStore::Open(config.keystore);
    if (!store.ok()) {
      LogLine(store.status().message());
      return 1;
    }
    sources.push_back(std::move(store).value());
  }
  if (config.vmware_keystore != nullptr) {
    auto store = VmwareKeyStore::Open(config.vmware_keystore);
    if (!store.ok()) {
      LogLine(store.status().message());
      return 1;
    }
    sources.push_back(std::move(store).value());
  }
  if (config.kms != nullptr) {
    auto kms_config = LoadKmsConfig(config.kms);
    auto resolver = kms_config.ok()
                        ? KmsResolver::Create(*kms_config,
                                              [](const std::string& w) {
                                                LogLine("warning: " + w);
                                              })
                        : kms_config.status();
    if (!resolver.ok()) {
      LogLine(resolver.status().message());
      return 1;
    }
    kms = resolver->get();
    sources.push_back(std::move(resolver).value());
  }
  std::unique_ptr<KeyResolver> key_source =
      sources.size() == 1 ? std::move(sources.front())
                          : std::make_unique<ChainResolver>(std::move(sources));
  std::unique_ptr<AuditLog> audit;
  if (config.audit_log != nullptr) {
    auto opened = AuditLog::Open(config.audit_log);
    if (!opened.ok()) {
      LogLine(opened.status().message());
      return 1;
    }
    audit = std::move(opened).value();
  }
  KeyCache::Options cache_options;
  cache_options.idle = absl::Seconds(config.idle);
  cache_options.negative_ttl = absl::Seconds(config.negative_ttl);
  KeyCache keys(std::move(key_source), cache_options,
                [&audit](const KeyRef& ref, const absl::Status& status) {
                  if (audit != nullptr && status.ok()) {
                    audit->Write("key_fetched", {{"key_id", ref.key_id},
                                                 {"provider", ref.provider}});
                  }
                });
  TreeOptions tree_options;
  tree_options.source = source;
  if (config.suffix != nullptr) tree_options.suffix = config.suffix;
  tree_options.ve_contexts = ve_contexts;
  tree_options.ve_allow_unverified = config.ve_unverified != nullptr;
  auto tree = DumpTree::Create(tree_options, &keys, audit.get());
  if (!tree.ok()) {
    LogLine(tree.status().message());
    return 1;
  }

  const std::string mount_options = absl::StrCat(
      "-oro,default_permissions,subtype=dumpcryptfs,max_read=", kMaxFuseIo,
      ",fsname=", EscapeOption(source));
  fuse_opt_add_arg(&args, mount_options.c_str());

  absl::Notification stop;
  std::thread dropper;
  ServeOptions serve;
  serve.direct_io = config.direct_io != 0;
  serve.read_ahead_kb = config.read_ahead_kb;
  serve.poll_us = config.poll_us;
  serve.foreground = cmdline.foreground != 0;
  serve.mounted = [&] {
    if (audit != nullptr) {
      audit->Write("mount", {{"source", source},
                             {"mountpoint", mountpoint},
                             {"uid", ::getuid()},
                             {"pid", ::getpid()}});
    }
  };
  serve.daemonized = [&] {
    if (!serve.foreground) LogToSyslog();
    if (config.idle > 0 || kms != nullptr) {
      dropper = std::thread([&] {
        const absl::Duration tick =
            config.idle > 0
                ? std::min(absl::Seconds(1), absl::Seconds(config.idle) / 4)
                : absl::Seconds(1);
        while (!stop.WaitForNotificationWithTimeout(tick)) {
          keys.DropIdle();
          if (kms != nullptr) kms->CloseIdle();
        }
      });
    }
  };
  const int rc = ServeFuse(tree->get(), &args, mountpoint, serve);
  stop.Notify();
  if (dropper.joinable()) dropper.join();
  if (audit != nullptr)
    audit->Write("unmount", {{"mountpoint", mountpoint}, {"pid", ::getpid()}});
  tree->reset();
  return rc;
}

}  // namespace
}  // namespace dumpcrypt

int main(int argc, char** argv) {
#ifdef NDEBUG
  // Debian builds Abseil without NDEBUG, which leaves deadlock detection on:
  // every Mutex::Lock then takes one global spin lock (docs/PERFORMANCE.md).
  // Release builds of Abseil turn it off; so do ours. Debug builds keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  return dumpcrypt::Run(argc, argv);
}
