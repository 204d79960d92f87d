// The fast back end's primitives (crypto/backend.h), for the factories in
// xts_cipher.cc, sector_tags.cc, aes_gcm.cc and aes_ctr.cc only. Built with
// DUMPCRYPT_HAVE_FAST_CRYPTO; no libgcrypt or ipsec-mb header leaks from
// here. Each takes inputs its factory has already checked.
#ifndef DUMPCRYPT_CRYPTO_FAST_BACKEND_H_
#define DUMPCRYPT_CRYPTO_FAST_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/aes_ctr.h"
#include "crypto/aes_gcm.h"
#include "crypto/secret_bytes.h"
#include "crypto/sector_tags.h"
#include "crypto/xts_cipher.h"

namespace dumpcrypt::fast {

// Usable is true if ipsec-mb runs on this CPU.
bool Usable();

absl::StatusOr<std::unique_ptr<XtsSectorCipher>> NewXts(
    SecretBytes key, XtsSectorCipher::Direction direction);
absl::StatusOr<std::unique_ptr<SectorTagger>> NewTagger(SecretBytes key);
absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> NewGcmDecryptor(
    const SecretBytes& key, absl::Span<const uint8_t> iv,
    absl::Span<const uint8_t> aad);
absl::StatusOr<std::unique_ptr<AesCtr>> NewCtr(const SecretBytes& key);

}  // namespace dumpcrypt::fast

#endif  // DUMPCRYPT_CRYPTO_FAST_BACKEND_H_
