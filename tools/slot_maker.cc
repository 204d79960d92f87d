#include "tools/slot_maker.h"

#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/envelope_opener.h"
#include "envelope/file_keys.h"
#include "kms/held_secrets.h"

namespace dumpcrypt::cli {

void NewSlotFlags::Add(CLI::App* cmd) {
  const char* group = "New slots";
  cmd->add_option("--add-key", key_ids,
                  "add a slot for this keyID (its key from the key sources); "
                  "may be repeated")
      ->group(group);
  cmd->add_option("--provider", provider,
                  "key provider name recorded with --add-key's slots")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--add-password-file", password_file,
                  "add a password slot: the password is the first line of "
                  "this file (mode 0600)")
      ->group(group);
  cmd->add_option("--add-recipient", recipients,
                  "add a slot for this public key (X25519 or RSA PEM, e.g. "
                  "from dumpcrypt keygen); may be repeated")
      ->group(group);
  AddPasswordCost(cmd);
}

void NewSlotFlags::AddPasswordCost(CLI::App* cmd) {
  const char* group = "Password slot cost (Argon2id)";
  cmd->add_option("--argon2-memory", argon2_memory_mib, "memory, in MiB")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--argon2-passes", argon2_passes, "passes over the memory")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--argon2-lanes", argon2_lanes, "lanes (and threads)")
      ->capture_default_str()
      ->group(group);
}

absl::StatusOr<PublicKey> ReadPublicKey(const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path, 1 << 20);
  if (!text.ok()) return Prefix(text.status(), path);
  absl::StatusOr<PublicKey> key = PublicKey::FromPem(*text);
  if (!key.ok()) return Prefix(key.status(), path);
  return key;
}

absl::StatusOr<SlotMaker> SlotMaker::Create(const NewSlotFlags& flags,
                                            KeyResolver* keys) {
  SlotMaker maker;
  for (const std::string& id : flags.key_ids) {
    const KeyRef ref{flags.provider, id};
    DC_RETURN_IF_ERROR(ValidateKeyRef(ref));
    if (keys == nullptr) {
      return absl::InvalidArgumentError("--add-key needs a key source");
    }
    absl::StatusOr<SecretBytes> kek = keys->ResolveForSealing(ref);
    if (!kek.ok()) return Prefix(AsKeyFailure(kek.status()), KeyRefString(ref));
    maker.keys_.emplace_back(ref, *std::move(kek));
  }
  if (!flags.password_file.empty()) {
    const Argon2Cost cost{flags.argon2_passes,
                          flags.argon2_memory_mib > kArgon2MaxMemoryKib >> 10
                              ? kArgon2MaxMemoryKib + 1
                              : flags.argon2_memory_mib << 10,
                          flags.argon2_lanes};
    DC_ASSIGN_OR_RETURN(SecretBytes password,
                        ReadPasswordFile(flags.password_file));
    DC_ASSIGN_OR_RETURN(PasswordKdf kdf, NewPasswordKdf(cost));
    DC_ASSIGN_OR_RETURN(SecretBytes kek, PasswordKek(password.span(), kdf));
    maker.password_.emplace(std::move(kdf), std::move(kek));
  }
  for (const std::string& path : flags.recipients) {
    DC_ASSIGN_OR_RETURN(PublicKey key, ReadPublicKey(path));
    maker.recipients_.push_back(std::move(key));
  }
  return maker;
}

absl::StatusOr<std::vector<KeySlot>> SlotMaker::Make(
    const SecretBytes& data_key) const {
  std::vector<KeySlot> slots;
  for (const auto& [ref, kek] : keys_) {
    DC_ASSIGN_OR_RETURN(KeySlot slot, MakeKeySlot(ref, kek, data_key));
    slots.push_back(std::move(slot));
  }
  if (password_.has_value()) {
    DC_ASSIGN_OR_RETURN(
        KeySlot slot,
        MakePasswordSlot(password_->first, password_->second, data_key));
    slots.push_back(std::move(slot));
  }
  for (const PublicKey& key : recipients_) {
    DC_ASSIGN_OR_RETURN(KeySlot slot, MakeRecipientSlot(key, data_key));
    slots.push_back(std::move(slot));
  }
  return slots;
}

}  // namespace dumpcrypt::cli
