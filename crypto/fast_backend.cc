// The fast back end: libgcrypt's AES-XTS and Intel ipsec-mb's GMAC, GCM and
// CTR, which use VAES/VPCLMULQDQ where the CPU has them (OpenSSL 3.0's XTS
// does not; docs/PERFORMANCE.md). Key schedules and GHASH state live in
// SecretBytes.
#include "crypto/fast_backend.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "crypto/gcrypt_util.h"
#include "crypto/ipsec_mb.h"

namespace dumpcrypt::fast {
namespace {

class GcryptXts final : public XtsSectorCipher {
 public:
  GcryptXts(std::unique_ptr<GcryCipherPool> pool, Direction direction)
      : pool_(std::move(pool)), direction_(direction) {}

  absl::Status Transform(uint64_t first_sector, size_t sector_size,
                         absl::Span<uint8_t> data) const override {
    DC_RETURN_IF_ERROR(CheckWholeSectors(sector_size, data.size()));
    DC_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    gcry_cipher_hd_t handle = lease.get();
    uint8_t tweak[16];
    for (size_t i = 0; i < data.size() / sector_size; ++i) {
      uint8_t* sector = data.data() + i * sector_size;
      XtsTweak(first_sector + i, tweak);
      gcry_error_t err = gcry_cipher_setiv(handle, tweak, sizeof(tweak));
      if (err == 0) {
        err =
            direction_ == Direction::kEncrypt
                ? gcry_cipher_encrypt(handle, sector, sector_size, nullptr, 0)
                : gcry_cipher_decrypt(handle, sector, sector_size, nullptr, 0);
      }
      if (err != 0) {
        return GcryptError(absl::StatusCode::kInternal, "AES-256-XTS", err);
      }
    }
    return absl::OkStatus();
  }

 private:
  const std::unique_ptr<GcryCipherPool> pool_;
  const Direction direction_;
};

// Wipes the running GHASH state, from which the hash key could be solved.
class ContextGuard {
 public:
  ~ContextGuard() { OPENSSL_cleanse(&ctx_, sizeof(ctx_)); }
  gcm_context_data* get() { return &ctx_; }

 private:
  gcm_context_data ctx_;
};

class IpsecTagger final : public SectorTagger {
 public:
  using Init = void (*)(const gcm_key_data*, gcm_context_data*, const uint8_t*,
                        uint64_t);
  using Finalize = void (*)(const gcm_key_data*, gcm_context_data*, uint8_t*,
                            uint64_t);
  IpsecTagger(SecretBytes schedule, Init init, Init update, Finalize finalize)
      : schedule_(std::move(schedule)),
        init_(init),
        update_(update),
        finalize_(finalize) {}

 protected:
  absl::Status TagAll(const uint8_t* nonce, uint64_t first_sector, size_t size,
                      size_t count, const uint8_t* data,
                      uint8_t* tags) const override {
    const auto* key = reinterpret_cast<const gcm_key_data*>(schedule_.data());
    ContextGuard ctx;
    uint8_t own[12];
    for (size_t i = 0; i < count; ++i) {
      if (nonce == nullptr) SectorNonce(first_sector + i, own);
      init_(key, ctx.get(), nonce != nullptr ? nonce : own, 12);
      if (size != 0) update_(key, ctx.get(), data + i * size, size);
      finalize_(key, ctx.get(), tags + i * kTagSize, kTagSize);
    }
    return absl::OkStatus();
  }

 private:
  const SecretBytes schedule_;  // a gcm_key_data
  const Init init_;
  const Init update_;
  const Finalize finalize_;
};

class IpsecGcmDecryptor final : public AesGcmDecryptor {
 public:
  IpsecGcmDecryptor(const IMB_MGR* mgr, SecretBytes key_data,
                    SecretBytes context)
      : mgr_(mgr),
        key_data_(std::move(key_data)),
        context_(std::move(context)) {}

  absl::Status Update(absl::Span<const uint8_t> in,
                      absl::Span<uint8_t> out) override {
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

  bool Finish(absl::Span<const uint8_t> tag) override {
    if (finished_ || tag.size() < 12 || tag.size() > 16) return false;
    finished_ = true;
    uint8_t full[16];
    mgr_->gcm256_dec_finalize(key_data(), context(), full, sizeof(full));
    const bool ok = CRYPTO_memcmp(full, tag.data(), tag.size()) == 0;
    OPENSSL_cleanse(full, sizeof(full));
    return ok;
  }

 private:
  const gcm_key_data* key_data() const {
    return reinterpret_cast<const gcm_key_data*>(key_data_.data());
  }
  gcm_context_data* context() {
    return reinterpret_cast<gcm_context_data*>(context_.data());
  }

  const IMB_MGR* const mgr_;
  const SecretBytes key_data_;  // a gcm_key_data
  SecretBytes context_;         // a gcm_context_data
  bool finished_ = false;
};

// 15 round keys of 16 bytes, for each direction.
constexpr size_t kScheduleSize = 15 * 16;

class IpsecCtr final : public AesCtr {
 public:
  explicit IpsecCtr(SecretBytes schedule) : schedule_(std::move(schedule)) {}

 protected:
  absl::Status Run(const uint8_t counter[kBlock], uint8_t* data,
                   size_t size) const override {
    IMB_MGR* m = IpsecMbForThisThread();
    if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
    IMB_JOB* job = IMB_GET_NEXT_JOB(m);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->hash_alg = IMB_AUTH_NULL;
    job->cipher_mode = IMB_CIPHER_CNTR;
    job->enc_keys = schedule_.data();
    job->dec_keys = schedule_.data() + kScheduleSize;
    job->key_len_in_bytes = IMB_KEY_256_BYTES;
    job->src = data;
    job->dst = data;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = size;
    job->iv = counter;
    job->iv_len_in_bytes = kBlock;
    job = IMB_SUBMIT_JOB(m);
    if (job == nullptr) job = IMB_FLUSH_JOB(m);
    if (job == nullptr || job->status != IMB_STATUS_COMPLETED) {
      return absl::InternalError(absl::StrCat(
          "ipsec-mb AES-256-CTR: ", imb_get_strerror(imb_get_errno(m))));
    }
    return absl::OkStatus();
  }

 private:
  const SecretBytes schedule_;  // expanded encryption keys, then decryption
};

}  // namespace

bool Usable() { return IpsecMb() != nullptr; }

absl::StatusOr<std::unique_ptr<XtsSectorCipher>> NewXts(
    SecretBytes key, XtsSectorCipher::Direction direction) {
  DC_ASSIGN_OR_RETURN(
      auto pool, MakeGcryCipherPool(GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_XTS,
                                    std::move(key)));
  return std::make_unique<GcryptXts>(std::move(pool), direction);
}

absl::StatusOr<std::unique_ptr<SectorTagger>> NewTagger(SecretBytes key) {
  const IMB_MGR* m = IpsecMb();
  if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
  auto make = [&key](aes_gcm_pre_t pre, IpsecTagger::Init init,
                     IpsecTagger::Init update, IpsecTagger::Finalize finalize) {
    // SecretBytes is 64-byte aligned, as gcm_key_data needs.
    SecretBytes schedule(sizeof(gcm_key_data));
    pre(key.data(), reinterpret_cast<gcm_key_data*>(schedule.data()));
    return std::unique_ptr<SectorTagger>(
        new IpsecTagger(std::move(schedule), init, update, finalize));
  };
  switch (key.size()) {
    case 16:
      return make(m->gcm128_pre, m->gmac128_init, m->gmac128_update,
                  m->gmac128_finalize);
    case 24:
      return make(m->gcm192_pre, m->gmac192_init, m->gmac192_update,
                  m->gmac192_finalize);
    default:
      return make(m->gcm256_pre, m->gmac256_init, m->gmac256_update,
                  m->gmac256_finalize);
  }
}

absl::StatusOr<std::unique_ptr<AesGcmDecryptor>> NewGcmDecryptor(
    const SecretBytes& key, absl::Span<const uint8_t> iv,
    absl::Span<const uint8_t> aad) {
  const IMB_MGR* m = IpsecMb();
  if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
  // SecretBytes is 64-byte aligned, as both structures need.
  SecretBytes key_data(sizeof(gcm_key_data));
  SecretBytes context(sizeof(gcm_context_data));
  auto* kd = reinterpret_cast<gcm_key_data*>(key_data.data());
  m->gcm256_pre(key.data(), kd);
  m->gcm256_init(kd, reinterpret_cast<gcm_context_data*>(context.data()),
                 iv.data(), aad.data(), aad.size());
  return std::make_unique<IpsecGcmDecryptor>(m, std::move(key_data),
                                             std::move(context));
}

absl::StatusOr<std::unique_ptr<AesCtr>> NewCtr(const SecretBytes& key) {
  const IMB_MGR* m = IpsecMb();
  if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
  // SecretBytes is 64-byte aligned, as ipsec-mb needs.
  SecretBytes schedule(2 * kScheduleSize);
  IMB_AES_KEYEXP_256(m, key.data(), schedule.data(),
                     schedule.data() + kScheduleSize);
  return std::make_unique<IpsecCtr>(std::move(schedule));
}

}  // namespace dumpcrypt::fast
