// AesGcmDecryptor: AES-256-GCM decryption of one message fed in pieces, on
// Intel's ipsec-mb (VAES/VPCLMULQDQ where the CPU has them). The key
// schedule, the hash-key powers and the running state live in SecretBytes.
#ifndef DUMPCRYPT_CRYPTO_AES_GCM_H_
#define DUMPCRYPT_CRYPTO_AES_GCM_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

struct IMB_MGR;
struct gcm_key_data;
struct gcm_context_data;

namespace dumpcrypt {

class AesGcmDecryptor {
 public:
  // Create starts one message under the 32-byte `key` and the 12-byte `iv`,
  // with `aad` (whole) as its associated data. INVALID_ARGUMENT for other
  // sizes, INTERNAL if ipsec-mb cannot be initialised.
  static absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> Create(
      const SecretBytes& key, absl::Span<const uint8_t> iv,
      absl::Span<const uint8_t> aad);

  // Update decrypts the next in.size() bytes of ciphertext into `out`; any
  // split of the message gives the same result, and `out` may be `in`
  // itself. Plaintext is not authentic until Finish says so.
  // INVALID_ARGUMENT if the sizes differ, FAILED_PRECONDITION after Finish.
  absl::Status Update(absl::Span<const uint8_t> in, absl::Span<uint8_t> out);

  // Finish reports whether `tag` (12 to 16 bytes; false for other sizes)
  // matches the first tag.size() bytes of the message's tag, compared in
  // constant time. The decryptor takes no more input after it.
  bool Finish(absl::Span<const uint8_t> tag);

 private:
  AesGcmDecryptor(const IMB_MGR* mgr, SecretBytes key_data, SecretBytes context)
      : mgr_(mgr),
        key_data_(std::move(key_data)),
        context_(std::move(context)) {}
  const gcm_key_data* key_data() const;
  gcm_context_data* context();

  const IMB_MGR* const mgr_;
  const SecretBytes key_data_;  // a gcm_key_data
  SecretBytes context_;         // a gcm_context_data
  bool finished_ = false;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_AES_GCM_H_
