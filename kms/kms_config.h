// The KMS configuration (TOML) and the resolver over its key providers.
#ifndef DUMPCRYPT_KMS_KMS_CONFIG_H_
#define DUMPCRYPT_KMS_KMS_CONFIG_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envelope/key_resolver.h"
#include "kms/kmip_provider.h"

namespace dumpcrypt {

struct KmsConfig {
  std::string default_provider;  // the first provider when not given
  std::vector<ProviderConfig> providers;
};

// LoadKmsConfig reads `path`:
//   default_provider = "kms-a"            # optional
//   [[provider]]
//   name = "kms-a"
//   servers = ["127.0.0.1:15696", "127.0.0.1:15697"]
//   ca_file = "ca.crt"                    # relative to the file's folder
//   cert_file = "client.crt"
//   key_file = "client.key"
//   connect_timeout_ms = 2000             # optional
//   io_timeout_ms = 5000                  # optional
//   retry_hung_after_ms = 30000           # optional
// INVALID_ARGUMENT naming the file, line and key of the first error.
absl::StatusOr<KmsConfig> LoadKmsConfig(const std::string& path);

// KmsResolver resolves key references through the configured providers; a
// reference whose provider is not configured goes to the default provider,
// with a warning. Thread-safe.
class KmsResolver : public KeyResolver {
 public:
  static absl::StatusOr<std::unique_ptr<KmsResolver>> Create(
      const KmsConfig& config, Warn warn);

  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  absl::StatusOr<SecretBytes> ResolveForSealing(const KeyRef& ref) override;
  std::string Describe() const override { return description_; }

  // Provider returns the provider named `name`, or the default one for an
  // empty name; NOT_FOUND otherwise.
  absl::StatusOr<KmipProvider*> Provider(const std::string& name);
  // CloseIdle closes idle connections of every provider.
  void CloseIdle();

 private:
  KmipProvider* Route(const KeyRef& ref);

  std::map<std::string, std::unique_ptr<KmipProvider>> providers_;
  KmipProvider* default_ = nullptr;
  Warn warn_;
  std::string description_;
};

// ChainResolver asks each source in turn; the first that has the key wins.
// A key none has: every source's cause (each distinct one once), joined,
// UNAVAILABLE if one could not be reached (the key may be there), else the
// code of the first source that had more to say than NOT_FOUND.
// Thread-safe if its sources are.
class ChainResolver : public KeyResolver {
 public:
  explicit ChainResolver(std::vector<std::unique_ptr<KeyResolver>> sources)
      : sources_(std::move(sources)) {}
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  absl::StatusOr<SecretBytes> ResolveForSealing(const KeyRef& ref) override;
  absl::StatusOr<SecretBytes> SlotKek(const KeySlot& slot) override;
  std::string Describe() const override;

 private:
  absl::StatusOr<SecretBytes> First(
      const std::function<absl::StatusOr<SecretBytes>(KeyResolver&)>& ask);
  std::vector<std::unique_ptr<KeyResolver>> sources_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_KMS_CONFIG_H_
