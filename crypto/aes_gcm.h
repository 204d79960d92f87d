// AesGcmDecryptor: AES-256-GCM decryption of one message fed in pieces.
#ifndef DUMPCRYPT_CRYPTO_AES_GCM_H_
#define DUMPCRYPT_CRYPTO_AES_GCM_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/backend.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

class AesGcmDecryptor {
 public:
  // Create starts one message under the 32-byte `key` and the 12-byte `iv`,
  // with `aad` (whole) as its associated data, on `backend`.
  // INVALID_ARGUMENT for other sizes, FAILED_PRECONDITION for a back end not
  // built in, INTERNAL if the library fails.
  static absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> Create(
      const SecretBytes& key, absl::Span<const uint8_t> iv,
      absl::Span<const uint8_t> aad,
      CryptoBackend backend = CryptoBackend::kDefault);
  virtual ~AesGcmDecryptor() = default;

  // Update decrypts the next in.size() bytes of ciphertext into `out`; any
  // split of the message gives the same result, and `out` may be `in`
  // itself. Plaintext is not authentic until Finish says so.
  // INVALID_ARGUMENT if the sizes differ, FAILED_PRECONDITION after Finish.
  virtual absl::Status Update(absl::Span<const uint8_t> in,
                              absl::Span<uint8_t> out) = 0;

  // Finish reports whether `tag` (12 to 16 bytes; false for other sizes)
  // matches the first tag.size() bytes of the message's tag, compared in
  // constant time. The decryptor takes no more input after it.
  virtual bool Finish(absl::Span<const uint8_t> tag) = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_AES_GCM_H_
