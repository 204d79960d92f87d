// The registry of envelope formats, probing, the plain-file view and the
// default EnvelopeView::Stream.
#include <sys/stat.h>

#include <algorithm>

#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/envelope.h"

namespace dumpcrypt {

// Each format's file defines its accessor; a new format adds one line to
// each list below.
const EnvelopeFormat& DumpcryptEnvelopeFormat();
const EnvelopeFormat& VmwareEnvelopeFormat();

const std::vector<const EnvelopeFormat*>& EnvelopeFormats() {
  static const auto* const formats = new std::vector<const EnvelopeFormat*>{
      &DumpcryptEnvelopeFormat(),
      &VmwareEnvelopeFormat(),
  };
  return *formats;
}

absl::StatusOr<Probed> ProbeEnvelope(int fd, const ProbeOptions& options) {
  Probed probed;
  for (const EnvelopeFormat* format : EnvelopeFormats()) {
    absl::StatusOr<std::unique_ptr<const Envelope>> envelope =
        format->Probe(fd, options);
    if (absl::IsDataLoss(envelope.status()) ||
        absl::IsUnimplemented(envelope.status())) {
      probed.damage = envelope.status();
      return probed;
    }
    if (!envelope.ok()) return envelope.status();
    if (*envelope != nullptr) {
      probed.envelope = *std::move(envelope);
      return probed;
    }
  }
  return probed;
}

bool HasAnyMagic(int fd) {
  for (const EnvelopeFormat* format : EnvelopeFormats()) {
    if (format->HasMagic(fd)) return true;
  }
  return false;
}

absl::Status NotAnEnvelopeError() {
  return absl::InvalidArgumentError(
      "neither a dumpcrypt envelope nor a VMware .ve file");
}

uint64_t PlainFileView::size() const {
  if (length_.has_value()) return *length_;
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<size_t> PlainFileView::ReadAt(uint64_t offset,
                                             absl::Span<uint8_t> out) const {
  if (length_.has_value()) {
    if (offset >= *length_) return 0;
    out = out.subspan(0, std::min<uint64_t>(out.size(), *length_ - offset));
  }
  return PreadFull(fd_.get(), out, base_ + offset);
}

absl::Status EnvelopeView::Stream(const ByteSink& sink,
                                  const ProgressFn& progress) const {
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t pos = payload_offset(); pos < size();) {
    DC_ASSIGN_OR_RETURN(size_t got, ReadAt(pos, absl::MakeSpan(buf)));
    if (got == 0) return absl::DataLossError("the view ended early");
    DC_RETURN_IF_ERROR(sink(absl::MakeConstSpan(buf.data(), got)));
    pos += got;
    if (progress) progress(pos);
  }
  return absl::OkStatus();
}

}  // namespace dumpcrypt
