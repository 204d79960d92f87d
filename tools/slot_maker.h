// The options that give a file new key slots (rekey's --add-*, seal's
// --recipient), and the SlotMaker that wraps a data key into those slots.
#ifndef DUMPCRYPT_TOOLS_SLOT_MAKER_H_
#define DUMPCRYPT_TOOLS_SLOT_MAKER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "crypto/public_key.h"
#include "envelope/key_resolver.h"
#include "envelope/key_slot.h"

namespace dumpcrypt::cli {

struct NewSlotFlags {
  std::vector<std::string> key_ids;
  std::string provider = "local";
  std::string password_file;
  std::vector<std::string> recipients;
  uint32_t argon2_memory_mib = 1024;
  uint32_t argon2_passes = 1;
  uint32_t argon2_lanes = 4;

  // Add registers --add-key, --provider, --add-password-file,
  // --add-recipient and the --argon2-* costs on `cmd`.
  void Add(CLI::App* cmd);
  // AddPasswordCost registers only the --argon2-* costs.
  void AddPasswordCost(CLI::App* cmd);
  bool empty() const {
    return key_ids.empty() && password_file.empty() && recipients.empty();
  }
};

// SlotMaker wraps data keys into the slots the flags ask for. It fetches
// each key, reads each recipient, and derives the password's KEK once, at
// Create: every file then gets slots at no further cost (the password slots
// of many files share one salt).
class SlotMaker {
 public:
  // Create: INVALID_ARGUMENT for an unusable recipient key or cost; the
  // key source's failure (with the keyID) for --add-key.
  static absl::StatusOr<SlotMaker> Create(const NewSlotFlags& flags,
                                          KeyResolver* keys);

  // Make returns the new slots for `data_key`, in the flags' order: keys,
  // password, recipients.
  absl::StatusOr<std::vector<KeySlot>> Make(const SecretBytes& data_key) const;

 private:
  SlotMaker() = default;
  std::vector<std::pair<KeyRef, SecretBytes>> keys_;
  std::optional<std::pair<PasswordKdf, SecretBytes>> password_;
  std::vector<PublicKey> recipients_;
};

// ReadPublicKey reads a PEM public key (or the public half of a private
// key) from `path`; errors name it.
absl::StatusOr<PublicKey> ReadPublicKey(const std::string& path);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_SLOT_MAKER_H_
