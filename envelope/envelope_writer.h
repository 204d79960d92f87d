// EnvelopeWriter: seals a stream of unknown length into an envelope.
#ifndef DUMPCRYPT_ENVELOPE_ENVELOPE_WRITER_H_
#define DUMPCRYPT_ENVELOPE_ENVELOPE_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/file_io.h"
#include "crypto/secret_bytes.h"
#include "envelope/envelope_format.h"
#include "envelope/file_keys.h"
#include "envelope/flattened_view.h"

namespace dumpcrypt {

struct SealOptions {
  uint32_t sector_size = kDefaultSectorSize;
  // The first `prefix_bytes` of the input stay in clear (at most 1 MiB).
  uint32_t prefix_bytes = 0;
  bool integrity = true;
  // Replace an existing output; otherwise Finish fails with ALREADY_EXISTS.
  bool overwrite = false;
  DumpMetadata metadata;
};

// EnvelopeWriter writes through an AtomicFile: a hidden temporary file in
// the output's folder, with no magic until complete, renamed to the output
// only in Finish. Destroying a writer that did not finish removes the
// temporary file: an interrupted seal never leaves a file under the output
// name, nor one that looks complete. Input that is a makedumpfile flattened
// stream (`makedumpfile -F`) is recognised as it passes: the envelope then
// shows the file the stream describes (FORMAT.md, the layout record). Not
// thread-safe.
class EnvelopeWriter {
 public:
  // Create checks the options, makes the data key and wraps it under `kek`
  // (32 bytes) in a slot naming `ref`. INVALID_ARGUMENT for bad options,
  // ALREADY_EXISTS if `output_path` exists and !overwrite, or the errno's
  // code if the temporary file cannot be made.
  static absl::StatusOr<std::unique_ptr<EnvelopeWriter>> Create(
      const std::string& output_path, const KeyRef& ref, const SecretBytes& kek,
      const SealOptions& options);
  // SlotsFor returns the key slots of a new file's data key.
  using SlotsFor = std::function<absl::StatusOr<std::vector<KeySlot>>(
      const SecretBytes& data_key)>;
  // Create, with the slots `slots` makes (one or more).
  static absl::StatusOr<std::unique_ptr<EnvelopeWriter>> Create(
      const std::string& output_path, const SlotsFor& slots,
      const SealOptions& options);
  // temp_path is the file being written, for a signal handler to unlink.
  const std::string& temp_path() const { return file_.temp_path(); }

  // Write appends `data` to the plaintext (the prefix first).
  absl::Status Write(absl::Span<const uint8_t> data);

  // MarkTruncated records in the header that the input ended early (an ELF
  // core missing some of its segments' bytes).
  void MarkTruncated() { header_.metadata.truncated = true; }
  // truncated: MarkTruncated was called, or (after Finish) the input was a
  // makedumpfile flattened stream without its end record.
  bool truncated() const { return header_.metadata.truncated; }
  // flattened: (after Finish) the input was a makedumpfile flattened stream,
  // and the envelope shows the file it describes.
  bool flattened() const { return header_.metadata.flattened_size.has_value(); }
  // Finish writes the last sector and the header, syncs, and renames into
  // place. After an error the writer is unusable and the output absent.
  absl::Status Finish();

  // bytes_in is the count of input bytes taken so far.
  uint64_t bytes_in() const { return bytes_in_; }

 private:
  EnvelopeWriter(AtomicFile file, EnvelopeHeader header, FileKeys keys);
  absl::Status FlushSectors(bool final);

  AtomicFile file_;
  EnvelopeHeader header_;
  const FileKeys keys_;
  std::vector<uint8_t> prefix_;
  FlattenedScan flattened_;
  std::vector<uint8_t> batch_;  // plaintext of whole sectors, then ciphertext
  std::vector<uint8_t> tags_;
  size_t batch_fill_ = 0;
  uint64_t sectors_written_ = 0;
  uint64_t bytes_in_ = 0;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_ENVELOPE_WRITER_H_
