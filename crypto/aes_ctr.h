// AesCtr: AES-256 in counter mode, as GCM runs it (a 32-bit big-endian
// counter in the last four bytes of the block), from any block and any
// byte within it.
#ifndef DUMPCRYPT_CRYPTO_AES_CTR_H_
#define DUMPCRYPT_CRYPTO_AES_CTR_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/backend.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

class AesCtr {
 public:
  static constexpr size_t kBlock = 16;

  // Create schedules the 32-byte `key` on `backend`. INVALID_ARGUMENT for
  // other sizes, FAILED_PRECONDITION for a back end not built in, INTERNAL
  // if the library fails.
  static absl::StatusOr<std::unique_ptr<AesCtr>> Create(
      const SecretBytes& key, CryptoBackend backend = CryptoBackend::kDefault);
  virtual ~AesCtr() = default;

  // Transform XORs `data`, in place, with the keystream from byte `skip`
  // (< 16) of the block whose counter block is `counter`; each next block's
  // counter adds one to the last four bytes (mod 2^32). Encrypts and
  // decrypts alike. INVALID_ARGUMENT if skip >= 16, INTERNAL on a library
  // failure. Thread-safe.
  absl::Status Transform(const uint8_t counter[kBlock], size_t skip,
                         absl::Span<uint8_t> data) const;

 protected:
  // Run XORs `size` bytes at `data` with the keystream of whole blocks from
  // `counter`, whose last four bytes do not wrap within them.
  virtual absl::Status Run(const uint8_t counter[kBlock], uint8_t* data,
                           size_t size) const = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_AES_CTR_H_
