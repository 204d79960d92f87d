// KeyResolver: a key reference in, the key-encryption key out.
#ifndef DUMPCRYPT_ENVELOPE_KEY_RESOLVER_H_
#define DUMPCRYPT_ENVELOPE_KEY_RESOLVER_H_

#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope_format.h"

namespace dumpcrypt {

class KeyResolver {
 public:
  virtual ~KeyResolver() = default;

  // Resolve returns the 32-byte key-encryption key that `ref` names.
  // NOT_FOUND: the source has no such keyID. UNAVAILABLE: the source cannot
  // be reached now (a retry may help). PERMISSION_DENIED: the source refuses
  // to give it. FAILED_PRECONDITION: the key exists but may not be used.
  // Messages name the source; callers add the key reference. Thread-safe.
  virtual absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) = 0;

  // ResolveForSealing is Resolve for a key about to seal new data; a
  // source may refuse keys that should no longer encrypt (KMIP: not Active).
  virtual absl::StatusOr<SecretBytes> ResolveForSealing(const KeyRef& ref) {
    return Resolve(ref);
  }

  // SlotKek returns the KEK of a slot that no key reference names (a
  // password or recipient slot), from a secret this source holds. NOT_FOUND
  // if it holds none for this slot (the default); other codes as Resolve.
  virtual absl::StatusOr<SecretBytes> SlotKek(const KeySlot& slot) {
    return absl::NotFoundError("no password or identity given");
  }

  // Describe names the source for messages, e.g. "key store /etc/ks".
  virtual std::string Describe() const = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_KEY_RESOLVER_H_
