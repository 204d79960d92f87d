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
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "fs/audit_log.h"
#include "fs/bundle_tree.h"
#include "fs/dump_tree.h"
#include "fs/fuse_ops.h"
#include "fs/log.h"
#include "kms/held_secrets.h"
#include "kms/key_cache.h"
#include "kms/kms_config.h"
#include "kms/local_keystore.h"
#include "kms/vmware_keystore.h"
#include "tools/dumpcryptfs_options.h"

namespace dumpcrypt {
namespace {

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
// hard one: the daemon holds a descriptor for each file open through the
// mount.
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
  MountCommandLine parsed(argc, argv);
  if (!parsed.ParseOptions()) return 2;
  fuse_args& args = parsed.args;
  const MountConfig& config = parsed.config;
  const std::vector<std::string>& ve_contexts = parsed.ve_contexts;
  fuse_cmdline_opts& cmdline = parsed.cmdline;
  if (config.help) {
    std::printf("%s\nlibfuse options:\n", kDumpcryptfsUsage);
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
    std::fprintf(stderr, "dumpcryptfs: need SOURCE and MOUNTPOINT\n%s",
                 kDumpcryptfsUsage);
    return 2;
  }
  if (config.keystore == nullptr && config.kms == nullptr &&
      config.vmware_keystore == nullptr && config.password_file == nullptr &&
      config.identity == nullptr) {
    std::fprintf(
        stderr,
        "dumpcryptfs: no key source: give -o keystore=PATH, -o kms=CONFIG, "
        "-o vmware_keystore=FILE, -o password_file=FILE or "
        "-o identity=KEY.pem\n");
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
    LogLine(absl::StrCat("source ", config.source, ": ", std::strerror(errno)));
    return 1;
  }
  const std::string source = real_source;
  free(real_source);
  const bool bundle = std::filesystem::is_regular_file(source);
  const std::string mountpoint = cmdline.mountpoint;
  // Below the source, the mount would list itself, and a walk into it would
  // take every serving thread into the daemon's own mount and hang.
  if (char* real_mountpoint =
          bundle ? nullptr : ::realpath(cmdline.mountpoint, nullptr)) {
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
  if (absl::Status held = AddHeldSecrets(
          config.password_file ? config.password_file : "",
          config.identity ? std::vector<std::string>{config.identity}
                          : std::vector<std::string>{},
          &sources);
      !held.ok()) {
    LogLine(held.message());
    return 1;
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
  tree_options.node.ve_contexts = ve_contexts;
  tree_options.node.ve_allow_unverified = config.ve_unverified != nullptr;
  tree_options.node.decrypt = parsed.decrypt;
  tree_options.node.decrypt.owner = ::getuid();
  absl::StatusOr<std::unique_ptr<Tree>> tree;
  if (bundle) {
    tree = BundleTree::Create(tree_options, &keys, audit.get());
  } else {
    tree = DumpTree::Create(tree_options, &keys, audit.get());
  }
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
    // Idle keys, failures past their TTL, idle KMS connections.
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
