// The two interfaces every reader of dumps speaks: an envelope format
// (probe a file, describe its cleartext, open it with keys) and the
// random-access view an opened file is read through. The mount, extract,
// verify, describe and keys know nothing else of a format: a new format is
// one new file in envelope/ and one line in formats.cc.
#ifndef DUMPCRYPT_ENVELOPE_ENVELOPE_H_
#define DUMPCRYPT_ENVELOPE_ENVELOPE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/file_io.h"
#include "envelope/key_resolver.h"
#include "nlohmann/json_fwd.hpp"

namespace dumpcrypt {

// RandomAccessView: bytes at random offsets, in the spirit of Tink's
// RandomAccessStream.
class RandomAccessView {
 public:
  virtual ~RandomAccessView() = default;

  // size is the number of bytes the view holds.
  virtual uint64_t size() const = 0;

  // ReadAt fills `out` from `offset` and returns the count, less than
  // out.size() only at the end of the view (0 at or past it). DATA_LOSS: an
  // integrity check failed in the range, named in the message; `out` is then
  // unspecified and must not be used. Other codes: the source file's I/O
  // errors. Thread-safe; calls run in parallel.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                        absl::Span<uint8_t> out) const = 0;
};

// PlainFileView is a file shown as it is (its size read at each call), or
// `length` bytes of it from `base` (a member of a tar).
class PlainFileView final : public RandomAccessView {
 public:
  explicit PlainFileView(UniqueFd fd, uint64_t base = 0,
                         std::optional<uint64_t> length = std::nullopt)
      : fd_(std::move(fd)), base_(base), length_(length) {}
  uint64_t size() const override;
  absl::StatusOr<size_t> ReadAt(uint64_t offset,
                                absl::Span<uint8_t> out) const override;

 private:
  const UniqueFd fd_;
  const uint64_t base_;
  const std::optional<uint64_t> length_;
};

// A sink takes a view's bytes in order; an error stops the stream.
using ByteSink = std::function<absl::Status(absl::Span<const uint8_t>)>;
// Progress is told how far a pass has come, in bytes of the view.
using ProgressFn = std::function<void(uint64_t)>;

// VerifyReport is what a full check of an opened envelope found.
struct VerifyReport {
  uint64_t damaged = 0;                // damaged units (sectors, or the file)
  std::vector<std::string> first_few;  // the first damaged units, described
  std::string summary;                 // "OK: ..." or what failed, in one line
};

// EnvelopeView is an opened envelope: the decrypted view (a cleartext
// prefix, if the format keeps one, then the plaintext).
class EnvelopeView : public RandomAccessView {
 public:
  // payload_offset is where the dump itself starts in the view: extract
  // writes from here on (VMware zdumps keep a cleartext header before it).
  virtual uint64_t payload_offset() const { return 0; }

  // Stream hands the view from payload_offset() to `sink`, in order. If the
  // format's tag covers the whole file and Open did not check it, the bytes
  // reach `sink` before the tag is known: a caller must not release them
  // unless Stream returns OK (DATA_LOSS if the tag does not verify). A sink's
  // error is returned as it is. Not thread-safe with itself.
  virtual absl::Status Stream(const ByteSink& sink,
                              const ProgressFn& progress) const;

  // Verify reads the whole view and checks every tag. An error is returned
  // only for what is not damage (I/O); damage is in the report.
  virtual absl::StatusOr<VerifyReport> Verify(const ProgressFn& progress) = 0;

  // file_tag_status, for formats whose tag covers the whole file: OK if it
  // verified or was not checked, else DATA_LOSS saying why.
  virtual absl::Status file_tag_status() const { return absl::OkStatus(); }
  // verified_context is the associated-data context the whole-file tag
  // verified with, if one did.
  virtual std::optional<std::string> verified_context() const {
    return std::nullopt;
  }
};

// OpenPolicy says how Open treats a tag that covers the whole file (a
// VMware envelope's GCM tag, checked in one pass over the file).
struct OpenPolicy {
  // Associated-data contexts tried first, before the format's known ones.
  std::vector<std::string> contexts;
  bool check_file_tag = true;    // check it at Open
  bool require_file_tag = true;  // a tag no context verifies fails Open
};

// Attribute is a named text value of an envelope's cleartext.
struct Attribute {
  std::string name;
  std::string value;
};

// Envelope is a probed envelope file: what its cleartext says, read without
// a key and not authenticated until Open. Immutable; thread-safe.
class Envelope {
 public:
  virtual ~Envelope() = default;

  // format names the format: "dumpcrypt", "vmware".
  virtual absl::string_view format() const = 0;

  // key_refs are the key references that may open the file, in the order
  // tried; empty if only a password or a recipient's identity does.
  virtual std::vector<KeyRef> key_refs() const = 0;

  // key_label names for people the key the file is shown under: the first
  // key reference, or a slot of another kind ("password", "recipient ...").
  virtual std::string key_label() const = 0;

  // shown_size is the size of the view; an upper bound if !size_exact().
  virtual uint64_t shown_size() const = 0;
  virtual bool size_exact() const { return true; }

  // has_file_tag is true for formats whose tag covers the whole file.
  virtual bool has_file_tag() const { return false; }

  // Attributes are the short facts the mount shows as user.dumpcrypt.NAME
  // (key_id, provider, type, integrity, ...), in a fixed order.
  virtual std::vector<Attribute> Attributes() const = 0;

  // Describe returns the labelled lines of `dumpcrypt describe`; DescribeJson
  // the object of `describe --json` (without "file").
  virtual std::vector<Attribute> Describe() const = 0;
  virtual nlohmann::json DescribeJson() const = 0;

  // CheckKey tells from the cleartext alone whether `keys` holds a key that
  // opens the file (a key slot unwraps, or a key hash matches), with the
  // codes of Open's key causes.
  virtual absl::Status CheckKey(KeyResolver& keys) const = 0;

  // Open reads the file again from `fd` (opened read-only on the file this
  // was probed from) and returns its view. The cause of a failure is its
  // code: UNAUTHENTICATED, no key opens it (missing, refused, wrong, or its
  // slot damaged); UNAVAILABLE, a key source could not be reached (a retry
  // may help); DATA_LOSS, the envelope is damaged; ABORTED, the file is no
  // longer an envelope of this format; others, I/O errors. Messages name
  // the key reference, not the file.
  virtual absl::StatusOr<std::unique_ptr<EnvelopeView>> Open(
      UniqueFd fd, KeyResolver& keys, const OpenPolicy& policy) const = 0;
};

// ProbeOptions: `offset` is where the envelope starts, for formats that
// may start past byte 0 (others do not claim a file with an offset > 0);
// `length`, where given, is its length when it ends before the file does (a
// member of a tar; the dumpcrypt format only).
struct ProbeOptions {
  std::optional<uint64_t> offset;
  std::optional<uint64_t> length;
};

// EnvelopeFormat recognises and reads one kind of envelope.
class EnvelopeFormat {
 public:
  virtual ~EnvelopeFormat() = default;
  virtual absl::string_view name() const = 0;
  // suffix is the file name ending the mount strips: ".dce", ".ve".
  virtual absl::string_view suffix() const = 0;
  // HasMagic reads only the first bytes: does `fd` claim to be this format?
  virtual bool HasMagic(int fd) const = 0;
  // Probe returns nullptr if `fd` is not of this format; DATA_LOSS or
  // UNIMPLEMENTED if it is one but damaged or of an unknown version; the
  // errno's code if it cannot be read.
  virtual absl::StatusOr<std::unique_ptr<const Envelope>> Probe(
      int fd, const ProbeOptions& options) const = 0;
};

// EnvelopeFormats lists every known format, the native one first.
const std::vector<const EnvelopeFormat*>& EnvelopeFormats();

// Probed is a regular file as the formats see it: an envelope, a damaged
// one (its cause in `damage`), or neither (both empty).
struct Probed {
  std::shared_ptr<const Envelope> envelope;
  absl::Status damage;
  bool is_envelope() const { return envelope != nullptr; }
  bool is_damaged() const { return !damage.ok(); }
};

// ProbeEnvelope asks each format in turn. Errors only when `fd` cannot be
// read.
absl::StatusOr<Probed> ProbeEnvelope(int fd, const ProbeOptions& options = {});

// HasAnyMagic is true if some format claims `fd` from its first bytes.
bool HasAnyMagic(int fd);

// NotAnEnvelopeError is the INVALID_ARGUMENT a tool reports for a file that
// is no envelope.
absl::Status NotAnEnvelopeError();

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_ENVELOPE_ENVELOPE_H_
