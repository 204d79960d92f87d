#include "kms/held_secrets.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "envelope/file_keys.h"
#include "kms/secret_file.h"

namespace dumpcrypt {
namespace {

constexpr size_t kMaxPasswordFile = 64 << 10;
constexpr size_t kMaxIdentityFile = 64 << 10;

}  // namespace

absl::StatusOr<SecretBytes> ReadPasswordFile(const std::string& path) {
  DC_ASSIGN_OR_RETURN(SecretBytes text,
                      ReadSecretFile(path, "password file", kMaxPasswordFile));
  size_t end = 0;
  while (end < text.size() && text.data()[end] != '\n') ++end;
  if (end > 0 && text.data()[end - 1] == '\r') --end;
  if (end == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "password file ", path, " holds no password on its first line"));
  }
  text.Truncate(end);
  return text;
}

absl::StatusOr<SecretBytes> PasswordSource::Resolve(const KeyRef& ref) {
  return absl::NotFoundError("a password names no key");
}

absl::StatusOr<SecretBytes> PasswordSource::SlotKek(const KeySlot& slot) {
  if (slot.kind != kSlotPassword) {
    return absl::NotFoundError("no identity given");
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [kdf, kek] : keks_) {
    if (kdf == slot.password) return kek.Clone();
  }
  DC_ASSIGN_OR_RETURN(SecretBytes kek,
                      PasswordKek(password_.span(), slot.password));
  ++derivations_;
  keks_.emplace_back(slot.password, kek.Clone());
  return kek;
}

int PasswordSource::Derivations() const {
  absl::MutexLock lock(&mu_);
  return derivations_;
}

absl::StatusOr<std::unique_ptr<IdentitySource>> IdentitySource::FromFiles(
    const std::vector<std::string>& paths) {
  std::vector<PrivateKey> keys;
  for (const std::string& path : paths) {
    DC_ASSIGN_OR_RETURN(SecretBytes pem,
                        ReadSecretFile(path, "identity", kMaxIdentityFile));
    absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(
        {reinterpret_cast<const char*>(pem.data()), pem.size()});
    if (!key.ok()) return Prefix(key.status(), "identity " + path);
    keys.push_back(*std::move(key));
  }
  return std::make_unique<IdentitySource>(
      std::move(keys),
      absl::StrCat("identit", paths.size() == 1 ? "y " : "ies ",
                   absl::StrJoin(paths, ", ")));
}

absl::StatusOr<SecretBytes> IdentitySource::Resolve(const KeyRef& ref) {
  return absl::NotFoundError("an identity names no key");
}

absl::StatusOr<SecretBytes> IdentitySource::SlotKek(const KeySlot& slot) {
  if (slot.kind == kSlotPassword)
    return absl::NotFoundError("no password given");
  for (const PrivateKey& key : keys_) {
    absl::StatusOr<SecretBytes> kek = RecipientKek(slot, key);
    if (!absl::IsNotFound(kek.status())) return kek;
  }
  return absl::NotFoundError(
      absl::StrCat("not a recipient of this slot: ", description_));
}

absl::Status AddHeldSecrets(
    const std::string& password_file,
    const std::vector<std::string>& identities,
    std::vector<std::unique_ptr<KeyResolver>>* sources) {
  if (!password_file.empty()) {
    DC_ASSIGN_OR_RETURN(SecretBytes password, ReadPasswordFile(password_file));
    sources->push_back(std::make_unique<PasswordSource>(
        std::move(password), "password file " + password_file));
  }
  if (!identities.empty()) {
    DC_ASSIGN_OR_RETURN(auto source, IdentitySource::FromFiles(identities));
    sources->push_back(std::move(source));
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt
