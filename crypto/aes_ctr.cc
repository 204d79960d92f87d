#include "crypto/aes_ctr.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "crypto/ipsec_mb.h"

namespace dumpcrypt {
namespace {

// 15 round keys of 16 bytes, for each direction.
constexpr size_t kScheduleSize = 15 * 16;

// NextCounter adds one to the big-endian counter in bytes 12-15.
void NextCounter(uint8_t block[16]) {
  for (int i = 15; i >= 12; --i) {
    if (++block[i] != 0) return;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AesCtr>> AesCtr::Create(const SecretBytes& key) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("AES-256-CTR key must be 32 bytes");
  }
  const IMB_MGR* m = IpsecMb();
  if (m == nullptr) return absl::InternalError("ipsec-mb: no usable manager");
  // SecretBytes is 64-byte aligned, as ipsec-mb needs.
  SecretBytes schedule(2 * kScheduleSize);
  IMB_AES_KEYEXP_256(m, key.data(), schedule.data(),
                     schedule.data() + kScheduleSize);
  return std::unique_ptr<AesCtr>(new AesCtr(std::move(schedule)));
}

absl::Status AesCtr::Run(const uint8_t counter[kBlock], uint8_t* data,
                         size_t size) const {
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

absl::Status AesCtr::Transform(const uint8_t counter[kBlock], size_t skip,
                               absl::Span<uint8_t> data) const {
  if (skip >= kBlock) return absl::InvalidArgumentError("skip >= 16");
  if (data.empty()) return absl::OkStatus();
  uint8_t block[kBlock];
  std::memcpy(block, counter, kBlock);
  if (skip != 0) {
    uint8_t partial[kBlock] = {};
    const size_t n = std::min(kBlock - skip, data.size());
    std::memcpy(partial + skip, data.data(), n);
    absl::Status status = Run(block, partial, kBlock);
    std::memcpy(data.data(), partial + skip, n);
    OPENSSL_cleanse(partial, sizeof(partial));
    if (!status.ok()) return status;
    data.remove_prefix(n);
    NextCounter(block);
  }
  if (data.empty()) return absl::OkStatus();
  // ipsec-mb counts in the last four bytes, as GCM does (tested).
  return Run(block, data.data(), data.size());
}

}  // namespace dumpcrypt
