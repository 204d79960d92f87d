// AesCtr: AES-256 in counter mode, as GCM runs it (a 32-bit big-endian
// counter in the last four bytes of the block), from any block and any
// byte within it, on Intel's ipsec-mb. The key schedule lives in
// SecretBytes.
#ifndef DUMPCRYPT_CRYPTO_AES_CTR_H_
#define DUMPCRYPT_CRYPTO_AES_CTR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {

class AesCtr {
 public:
  static constexpr size_t kBlock = 16;

  // Create schedules the 32-byte `key`. INVALID_ARGUMENT for other sizes,
  // INTERNAL if ipsec-mb cannot be initialised.
  static absl::StatusOr<std::unique_ptr<AesCtr>> Create(const SecretBytes& key);

  // Transform XORs `data`, in place, with the keystream from byte `skip`
  // (< 16) of the block whose counter block is `counter`; each next block's
  // counter adds one to the last four bytes (mod 2^32). Encrypts and
  // decrypts alike. INVALID_ARGUMENT if skip >= 16, INTERNAL if the calling
  // thread cannot get an ipsec-mb manager. Thread-safe: each thread runs on
  // its own manager.
  absl::Status Transform(const uint8_t counter[kBlock], size_t skip,
                         absl::Span<uint8_t> data) const;

 private:
  explicit AesCtr(SecretBytes schedule) : schedule_(std::move(schedule)) {}
  absl::Status Run(const uint8_t counter[kBlock], uint8_t* data,
                   size_t size) const;

  const SecretBytes schedule_;  // expanded encryption keys, then decryption
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_AES_CTR_H_
