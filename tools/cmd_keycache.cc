// dumpcrypt keycache load|list|flush: the host's key cache in the kernel
// keyring, for the core handler to seal with when the KMS does not answer.
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "kms/kernel_key_cache.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/host_config.h"

namespace dumpcrypt::cli {
namespace {

absl::StatusOr<std::unique_ptr<KernelKeyCache>> OpenCache(
    const HostConfig& config, bool create) {
  if (config.keyring.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(config.path, " names no keyring (keyring = \"\")"));
  }
  return KernelKeyCache::Open(config.keyring, create);
}

int RunLoad(const std::string& path) {
  const std::string cmd = "keycache load";
  if (::geteuid() != 0) {
    return Fail(cmd, absl::PermissionDeniedError(
                         "run as root: the core handler runs as root and "
                         "reads root's keyring"));
  }
  auto config = LoadHostConfig(path);
  if (!config.ok()) return UsageError(cmd, config.status());
  std::vector<std::string> notes;
  auto sources = OpenKeySources(*config, /*use_keyring=*/false, &notes);
  for (const std::string& n : notes) {
    std::fprintf(stderr, "dumpcrypt %s: warning: %s\n", cmd.c_str(), n.c_str());
  }
  if (!sources.ok()) return Fail(cmd, sources.status(), true);
  auto cache = OpenCache(*config, /*create=*/true);
  if (!cache.ok()) return Fail(cmd, cache.status());
  int exit = kExitOk;
  for (const KeyRef& ref : config->Keys()) {
    auto kek = (*sources)->ResolveForSealing(ref);
    absl::Status put = kek.ok() ? (*cache)->Put(ref, *kek, config->key_lifetime)
                                : kek.status();
    if (!put.ok()) {
      exit = WorseExit(exit, Fail(cmd, Prefix(put, KeyRefString(ref)), true));
      continue;
    }
    std::printf("cached %s for %s\n", KeyRefString(ref).c_str(),
                absl::FormatDuration(config->key_lifetime).c_str());
  }
  return exit;
}

int RunList(const std::string& path) {
  const std::string cmd = "keycache list";
  auto config = LoadHostConfig(path);
  if (!config.ok()) return UsageError(cmd, config.status());
  auto cache = OpenCache(*config, /*create=*/false);
  if (!cache.ok()) return Fail(cmd, cache.status(), true);
  auto entries = (*cache)->List();
  if (!entries.ok()) return Fail(cmd, entries.status());
  std::printf("%-16s %-40s %s\n", "PROVIDER", "KEYID", "EXPIRES IN");
  for (const KernelKeyCache::Entry& e : *entries) {
    std::printf("%-16s %-40s %s\n", e.ref.provider.c_str(),
                e.ref.key_id.c_str(), e.expires.c_str());
  }
  return kExitOk;
}

int RunFlush(const std::string& path) {
  const std::string cmd = "keycache flush";
  auto config = LoadHostConfig(path);
  if (!config.ok()) return UsageError(cmd, config.status());
  auto cache = OpenCache(*config, /*create=*/false);
  if (absl::IsNotFound(cache.status())) {
    std::printf("no key cache to flush\n");
    return kExitOk;
  }
  if (!cache.ok()) return Fail(cmd, cache.status());
  auto revoked = (*cache)->Flush();
  if (!revoked.ok()) return Fail(cmd, revoked.status());
  std::printf("revoked %d cached keys\n", *revoked);
  return kExitOk;
}

}  // namespace

void AddKeycacheCommands(CLI::App& app, int* exit_code) {
  CLI::App* group = app.add_subcommand(
      "keycache",
      "the host's key cache in the kernel keyring (kernel memory only, "
      "possessor-only, with an expiry), from which core-handler seals "
      "without asking the KMS");
  group->require_subcommand(1);
  auto config = std::make_shared<std::string>(kDefaultHostConfig);
  struct Sub {
    const char* name;
    const char* help;
    int (*run)(const std::string&);
  };
  for (const Sub& s :
       {Sub{"load",
            "fetch every key the policy names (host key and "
            "rules') from the KMS or key store into the "
            "cache, for key_lifetime_s; as root, at boot",
            &RunLoad},
        Sub{"list", "list the cached keys (not their bytes)", &RunList},
        Sub{"flush", "revoke and drop every cached key", &RunFlush}}) {
    CLI::App* c = group->add_subcommand(s.name, s.help);
    c->add_option("--config", *config, "host configuration (TOML)")
        ->capture_default_str();
    auto run = s.run;
    c->callback([config, run, exit_code] { *exit_code = run(*config); });
  }
}

}  // namespace dumpcrypt::cli
