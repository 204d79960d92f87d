// EnvelopeReader: random-access reads of an envelope's decrypted view
// (cleartext prefix, then plaintext), decrypting only the sectors a read
// touches.
#ifndef DUMPCRYPT_ENVELOPE_ENVELOPE_READER_H_
#define DUMPCRYPT_ENVELOPE_ENVELOPE_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/file_io.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope.h"
#include "envelope/envelope_format.h"
#include "envelope/file_keys.h"

namespace dumpcrypt {

class EnvelopeReader final : public EnvelopeView {
 public:
  // Open takes the envelope open as `fd`, its parsed `header` (ReadHeader)
  // and the unwrapped `data_key`. It checks, before any data is read, that
  // the header tag matches (so no header field, key slot or prefix byte was
  // changed) and that the file is exactly as long as the header says.
  // DATA_LOSS: header tag mismatch, truncated file, or bytes appended.
  // An envelope inside a larger file (a tar member) starts at `base` and is
  // `length` bytes long; by default it is the whole file.
  static absl::StatusOr<std::unique_ptr<EnvelopeReader>> Open(
      UniqueFd fd, EnvelopeHeader header, const SecretBytes& data_key,
      uint64_t base = 0, std::optional<uint64_t> length = std::nullopt);

  // ReadAt fills `out` from `offset` of the decrypted view and returns the
  // count, which is less than out.size() only at the end of the view (0 at
  // or past it). Ciphertext and tags of a range come in one preadv (for up
  // to 256 sectors) straight into `out`; tags are checked before decrypting.
  // DATA_LOSS names the first sector whose tag does not match, or a file cut
  // short since Open; `out` is then unspecified and must not be used.
  // Thread-safe; calls run in parallel.
  absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                absl::Span<uint8_t> out) const override;

  // Verify reads every sector and names the first 20 whose tag fails.
  absl::StatusOr<VerifyReport> Verify(const ProgressFn& progress) override;

  uint64_t size() const override { return header_.DecryptedSize(); }
  const EnvelopeHeader& header() const { return header_; }

 private:
  EnvelopeReader(UniqueFd fd, uint64_t base, EnvelopeHeader header,
                 FileKeys keys, std::vector<uint8_t> prefix)
      : fd_(std::move(fd)),
        base_(base),
        header_(std::move(header)),
        keys_(std::move(keys)),
        prefix_(std::move(prefix)) {}

  // ReadSectors decrypts plaintext bytes [pos, pos + out.size()) with at
  // most kMaxBatch sectors per preadv.
  absl::Status ReadPlaintext(uint64_t pos, absl::Span<uint8_t> out) const;
  absl::Status ReadBatch(uint64_t first_sector, size_t count, size_t skip,
                         absl::Span<uint8_t> out) const;
  absl::Status CheckAndDecrypt(uint64_t first_sector, absl::Span<uint8_t> data,
                               absl::Span<const uint8_t> tags) const;

  const UniqueFd fd_;
  const uint64_t base_;
  const EnvelopeHeader header_;
  const FileKeys keys_;
  const std::vector<uint8_t> prefix_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_ENVELOPE_READER_H_
