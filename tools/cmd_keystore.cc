// dumpcrypt keystore new | add | list
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_format.h"
#include "base/file_io.h"
#include "crypto/openssl_util.h"
#include "kms/local_keystore.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

absl::StatusOr<std::string> RandomUuid() {
  uint8_t b[16];
  if (RAND_bytes(b, sizeof(b)) != 1)
    return OpenSslError(absl::StatusCode::kInternal, "random keyID");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

}  // namespace

void AddKeystoreCommands(CLI::App& app, int* exit_code) {
  CLI::App* group = app.add_subcommand(
      "keystore", "manage a local key store (keyID -> 32-byte key, mode 0600)");
  group->require_subcommand(1);

  struct Flags {
    std::string path, key_id, key_hex;
  };
  auto flags = std::make_shared<Flags>();

  CLI::App* make = group->add_subcommand(
      "new", "add a new random key and print its keyID (creates the store)");
  make->add_option("--keystore", flags->path, "key store file")->required();
  make->add_option("--key-id", flags->key_id,
                   "keyID to use (default: a new UUID)");
  make->callback([flags, exit_code] {
    auto store = LocalKeyStore::OpenOrCreate(flags->path);
    if (!store.ok()) {
      *exit_code = Fail("keystore new", store.status());
      return;
    }
    const absl::StatusOr<std::string> id =
        flags->key_id.empty() ? RandomUuid() : flags->key_id;
    auto key = SecretBytes::Random(32);
    absl::Status status = !id.ok()   ? id.status()
                          : key.ok() ? (*store)->Add(*id, *key)
                                     : key.status();
    if (!status.ok()) {
      *exit_code = Fail("keystore new", status);
      return;
    }
    std::printf("%s\n", id->c_str());
  });

  CLI::App* add = group->add_subcommand(
      "add", "store a known key under a keyID (creates the store)");
  add->add_option("--keystore", flags->path, "key store file")->required();
  add->add_option("--key-id", flags->key_id, "keyID")->required();
  add->add_option("--key-hex", flags->key_hex,
                  "the key: 64 hex digits, or - to read them from stdin "
                  "(keeps the key out of the process list)")
      ->required();
  add->callback([flags, exit_code] {
    auto key = ParseKeyHex(flags->key_hex);
    if (!key.ok()) {
      *exit_code = kExitUsage;
      Fail("keystore add", key.status());
      return;
    }
    auto store = LocalKeyStore::OpenOrCreate(flags->path);
    absl::Status status =
        store.ok() ? (*store)->Add(flags->key_id, *key) : store.status();
    if (!status.ok()) *exit_code = Fail("keystore add", status);
  });

  CLI::App* list =
      group->add_subcommand("list", "print the keyIDs (never key bytes)");
  list->add_option("--keystore", flags->path, "key store file")->required();
  list->callback([flags, exit_code] {
    auto store = LocalKeyStore::Open(flags->path);
    auto ids = store.ok() ? (*store)->ListIds() : store.status();
    if (!ids.ok()) {
      *exit_code = Fail("keystore list", ids.status());
      return;
    }
    for (const std::string& id : *ids) std::printf("%s\n", id.c_str());
  });
}

}  // namespace dumpcrypt::cli
