// dumpcrypt kms create | get-state | register: manage keys in a KMIP provider.
#include <unistd.h>

#include <cstdio>

#include "base/file_io.h"
#include "kms/kms_config.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

struct Flags {
  std::string kms, provider, name, key_hex, key_id;
};

// Provider opens the configuration and returns the named provider (or the
// default one); on failure reports and returns null with *exit_code set.
KmipProvider* OpenProvider(const std::string& cmd, const Flags& f,
                           std::unique_ptr<KmsResolver>* holder,
                           int* exit_code) {
  auto config = LoadKmsConfig(f.kms);
  if (!config.ok()) {
    *exit_code = Fail(cmd, config.status());
    return nullptr;
  }
  auto resolver = KmsResolver::Create(*config, [](const std::string& w) {
    std::fprintf(stderr, "dumpcrypt: warning: %s\n", w.c_str());
  });
  if (!resolver.ok()) {
    *exit_code = Fail(cmd, resolver.status());
    return nullptr;
  }
  *holder = std::move(resolver).value();
  auto provider = (*holder)->Provider(f.provider);
  if (!provider.ok()) {
    *exit_code = Fail(cmd, provider.status());
    return nullptr;
  }
  return *provider;
}

}  // namespace

void AddKmsCommands(CLI::App& app, int* exit_code) {
  CLI::App* group =
      app.add_subcommand("kms", "manage keys in a KMIP key provider");
  group->require_subcommand(1);
  auto f = std::make_shared<Flags>();
  auto common = [&](CLI::App* c) {
    c->add_option("--kms", f->kms, "KMS configuration (TOML)")->required();
    c->add_option("--provider", f->provider,
                  "key provider (default: the configured default)");
  };

  CLI::App* create = group->add_subcommand(
      "create", "create and activate an AES-256 key; print its keyID");
  common(create);
  create->add_option("--name", f->name, "name of the key in the KMS")
      ->required();
  create->callback([f, exit_code] {
    std::unique_ptr<KmsResolver> holder;
    KmipProvider* p = OpenProvider("kms create", *f, &holder, exit_code);
    if (p == nullptr) return;
    auto id = p->CreateKey(f->name);
    if (!id.ok()) {
      *exit_code = Fail("kms create", id.status(), true);
      return;
    }
    std::printf("%s\n", id->c_str());
  });

  CLI::App* state = group->add_subcommand(
      "get-state", "print a key's state (Active, Deactivated, ...)");
  common(state);
  state->add_option("KEY_ID", f->key_id, "keyID")->required();
  state->callback([f, exit_code] {
    std::unique_ptr<KmsResolver> holder;
    KmipProvider* p = OpenProvider("kms get-state", *f, &holder, exit_code);
    if (p == nullptr) return;
    auto s = p->GetState(f->key_id);
    if (!s.ok()) {
      *exit_code = Fail("kms get-state", s.status(), true);
      return;
    }
    std::printf("%s\n", kmip::KeyStateName(*s).c_str());
  });

  CLI::App* reg = group->add_subcommand(
      "register",
      "import known key bytes as an active AES-256 key; print its keyID");
  common(reg);
  reg->add_option("--name", f->name, "name of the key in the KMS")->required();
  reg->add_option("--key-hex", f->key_hex,
                  "64 hex digits, or - to read them from stdin")
      ->required();
  reg->callback([f, exit_code] {
    auto key = ParseKeyHex(f->key_hex);
    if (!key.ok()) {
      Fail("kms register", key.status());
      *exit_code = kExitUsage;
      return;
    }
    std::unique_ptr<KmsResolver> holder;
    KmipProvider* p = OpenProvider("kms register", *f, &holder, exit_code);
    if (p == nullptr) return;
    auto id = p->RegisterKey(f->name, *key);
    if (!id.ok()) {
      *exit_code = Fail("kms register", id.status(), true);
      return;
    }
    std::printf("%s\n", id->c_str());
  });
}

}  // namespace dumpcrypt::cli
