// VMware ESXi "DataTransformEnvelope" files (.ve): version 2, AES-256-GCM.
// The layout, from offset O (0, or 4096 for zdumps, which keep a cleartext
// header before the envelope):
//   O           "DataTransformEnvelope"; u32 LE size at O+0x1F8, version at
//   O+0x1FC O+0x200     attributes: u8 type, u8 flags, u16 reserved,
//   NUL-terminated name,
//               value (type 0x0B: NUL-terminated string; 0x0C: u64 LE length +
//               bytes); a type byte 0 ends the list
//   O+512+size  ciphertext, up to the last 4096 bytes of the file
//   end-4096    AEAD footer: "DataTransformAeadFooter", tag at +32, u32 tag
//   size at
//               +4088, u32 version at +4092
// GCM nonce = vmware.iv; associated data = bytes [O, O+512+size) then a
// context string the file does not name ("ESXConfiguration" for
// configuration archives). The plaintext is payload || padding || a final
// 4096-byte block ending in a 512-byte crypto footer
// ("DataTransformCryptoFooter", u32 padding at -8, u32 version 2 at -4). key
// hash = SHA-256(cipherName || key).
#ifndef DUMPCRYPT_ENVELOPE_VE_ENVELOPE_H_
#define DUMPCRYPT_ENVELOPE_VE_ENVELOPE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/file_io.h"
#include "crypto/aes_ctr.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope.h"
#include "envelope/envelope_format.h"

namespace dumpcrypt {

inline constexpr uint64_t kVeBlock = 4096;
inline constexpr char kVeMagic[] = "DataTransformEnvelope";

struct VeAttribute {
  uint8_t type = 0;
  uint8_t flags = 0;
  std::string name;
  std::string value;
  bool is_string() const { return type == 0x0B; }
};

struct VeHeader {
  uint64_t offset = 0;  // bytes of cleartext before the envelope
  uint32_t size = 0;
  uint32_t version = 0;
  std::vector<VeAttribute> attributes;
  std::vector<uint8_t> header_bytes;  // [offset, data_start): part of the AAD
  uint64_t data_start = 0;
  uint64_t file_size = 0;
  uint64_t ciphertext_length = 0;
  std::string tag;
  uint32_t footer_version = 0;

  const VeAttribute* Find(const std::string& name) const;
  std::string Attribute(const std::string& name) const;  // "" if absent
  // PayloadUpperBound is the largest the payload can be (before the crypto
  // footer is decrypted).
  uint64_t PayloadUpperBound() const {
    return ciphertext_length > kVeBlock ? ciphertext_length - kVeBlock : 0;
  }
};

// ParseVeAttributes parses the attribute area. DATA_LOSS if malformed.
absl::StatusOr<std::vector<VeAttribute>> ParseVeAttributes(
    absl::Span<const uint8_t> area);

// ReadVeHeader reads the envelope of `fd` at `offset`, or, without one, at 0
// or 4096 (where the magic is). FAILED_PRECONDITION: no envelope there;
// DATA_LOSS: damaged or truncated; UNIMPLEMENTED: other versions.
absl::StatusOr<VeHeader> ReadVeHeader(
    int fd, std::optional<uint64_t> offset = std::nullopt);

// VeKeyRef turns vmware.keyInfo into a key reference: a plain keyID as is;
// a VMware locator (vmware:key/fqid/<uniqueId>/<keyServerId>/<keyId>, %xx-
// escaped, possibly inside list/(...) or pair/(...)) gives keyId, with
// keyServerId as the provider.
KeyRef VeKeyRef(const std::string& key_info);

// PercentDecode turns each %xx (two hex digits) into its byte; anything
// else, malformed escapes included, is kept as it is.
std::string PercentDecode(absl::string_view in);

// VeContexts is `first`, then the known associated-data strings not in it.
std::vector<std::string> VeContexts(const std::vector<std::string>& first);

// CheckVeKey is UNAUTHENTICATED if `key` does not match the envelope's
// keyHash (or is not 32 bytes); OK if it does or the envelope has none.
absl::Status CheckVeKey(const VeHeader& header, const SecretBytes& key);

class VeReader final : public EnvelopeView {
 public:
  // Open checks `key` against keyHash (UNAUTHENTICATED if it is not the
  // file's key), decrypts the crypto footer for the exact payload length
  // (DATA_LOSS if it is not there), and, with policy.check_file_tag, checks
  // the GCM tag in one sequential pass with every context of
  // VeContexts(policy.contexts) at once. If none verifies: DATA_LOSS naming
  // them, unless !policy.require_file_tag (then file_tag_status says so).
  static absl::StatusOr<std::unique_ptr<VeReader>> Open(
      UniqueFd fd, VeHeader header, const SecretBytes& key,
      const OpenPolicy& policy);

  // ReadAt reads the decrypted view (cleartext prefix, then payload),
  // decrypting only the range asked (GCM is counter mode). Thread-safe.
  absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                absl::Span<uint8_t> out) const override;
  uint64_t size() const override { return header_.offset + payload_length_; }
  uint64_t payload_offset() const override { return header_.offset; }

  // Stream, unless the tag was verified at Open, decrypts and checks it in
  // the same pass (the bytes are not authentic until it returns OK).
  absl::Status Stream(const ByteSink& sink,
                      const ProgressFn& progress) const override;
  // Verify checks the GCM tag in one pass.
  absl::StatusOr<VerifyReport> Verify(const ProgressFn& progress) override;
  absl::Status file_tag_status() const override { return tag_status_; }
  std::optional<std::string> verified_context() const override {
    return verified_context_;
  }

  uint64_t payload_length() const { return payload_length_; }
  const VeHeader& header() const { return header_; }

 private:
  VeReader(UniqueFd fd, VeHeader header, std::string nonce, SecretBytes key,
           std::unique_ptr<AesCtr> ctr, std::vector<uint8_t> prefix,
           std::vector<std::string> contexts)
      : fd_(std::move(fd)),
        header_(std::move(header)),
        nonce_(std::move(nonce)),
        key_(std::move(key)),
        ctr_(std::move(ctr)),
        prefix_(std::move(prefix)),
        contexts_(std::move(contexts)) {}
  absl::Status DecryptAt(uint64_t pos, absl::Span<uint8_t> data) const;
  // CheckTag runs the one pass: the tag under every context at once, the
  // payload's plaintext handed to `sink` (if any) before the tag is known.
  // Sets verified_context_ or tag_status_. DATA_LOSS if none verifies.
  absl::Status CheckTag(const ByteSink& sink, const ProgressFn& progress) const;

  const UniqueFd fd_;
  const VeHeader header_;
  const std::string nonce_;  // vmware.iv, 12 bytes
  const SecretBytes key_;    // for the GCM pass
  const std::unique_ptr<AesCtr> ctr_;
  const std::vector<uint8_t> prefix_;
  const std::vector<std::string> contexts_;
  uint64_t payload_length_ = 0;
  // Set by CheckTag, which runs at Open or alone in Stream/Verify.
  mutable std::optional<std::string> verified_context_;
  mutable absl::Status tag_status_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_VE_ENVELOPE_H_
