#include "crypto/aes_gcm.h"

#include <openssl/crypto.h>

#include "crypto/ipsec_mb.h"

namespace dumpcrypt {

absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> AesGcmDecryptor::Create(
    const SecretBytes& key, absl::Span<const uint8_t> iv,
    absl::Span<const uint8_t> aad) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  if (iv.size() != 12) {
    return absl::InvalidArgumentError("AES-256-GCM IV must be 12 bytes");
  }
  const IMB_MGR* m = IpsecMb();
  if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
  // SecretBytes is 64-byte aligned, as both structures need.
  SecretBytes key_data(sizeof(gcm_key_data));
  SecretBytes context(sizeof(gcm_context_data));
  auto* kd = reinterpret_cast<gcm_key_data*>(key_data.data());
  m->gcm256_pre(key.data(), kd);
  m->gcm256_init(kd, reinterpret_cast<gcm_context_data*>(context.data()),
                 iv.data(), aad.data(), aad.size());
  return std::unique_ptr<AesGcmDecryptor>(
      new AesGcmDecryptor(m, std::move(key_data), std::move(context)));
}

const gcm_key_data* AesGcmDecryptor::key_data() const {
  return reinterpret_cast<const gcm_key_data*>(key_data_.data());
}

gcm_context_data* AesGcmDecryptor::context() {
  return reinterpret_cast<gcm_context_data*>(context_.data());
}

absl::Status AesGcmDecryptor::Update(absl::Span<const uint8_t> in,
                                     absl::Span<uint8_t> out) {
  if (finished_) return absl::FailedPreconditionError("GCM message finished");
  if (out.size() != in.size()) {
    return absl::InvalidArgumentError("GCM output size differs from input");
  }
  if (!in.empty()) {
    mgr_->gcm256_dec_update(key_data(), context(), out.data(), in.data(),
                            in.size());
  }
  return absl::OkStatus();
}

bool AesGcmDecryptor::Finish(absl::Span<const uint8_t> tag) {
  if (finished_ || tag.size() < 12 || tag.size() > 16) return false;
  finished_ = true;
  uint8_t full[16];
  mgr_->gcm256_dec_finalize(key_data(), context(), full, sizeof(full));
  const bool ok = CRYPTO_memcmp(full, tag.data(), tag.size()) == 0;
  OPENSSL_cleanse(full, sizeof(full));
  return ok;
}

}  // namespace dumpcrypt
