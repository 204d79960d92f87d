#include "envelope/envelope_reader.h"

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "envelope/prefixed_view.h"

namespace dumpcrypt {
namespace {

constexpr size_t kMaxBatch = 256;

// Scratch holds the partly read first and last sector of a batch; one per
// thread, allocated on its first read.
uint8_t* Scratch() {
  thread_local std::unique_ptr<uint8_t[]> scratch(
      new uint8_t[2 * kMaxSectorSize]);
  return scratch.get();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnvelopeReader>> EnvelopeReader::Open(
    UniqueFd fd, EnvelopeHeader header, const SecretBytes& data_key,
    uint64_t base, std::optional<uint64_t> length) {
  if (header.raw.size() != header.header_length) {
    return absl::InvalidArgumentError("header was not read from a file");
  }
  DC_ASSIGN_OR_RETURN(
      FileKeys keys,
      DeriveFileKeys(data_key, header, XtsSectorCipher::Direction::kDecrypt));
  std::vector<uint8_t> prefix(header.prefix_length);
  DC_ASSIGN_OR_RETURN(size_t got, PreadFull(fd.get(), absl::MakeSpan(prefix),
                                            base + header.header_length));
  if (got != prefix.size()) return absl::DataLossError("file is truncated");
  const size_t body = header.header_length - kHeaderTagSize;
  DC_ASSIGN_OR_RETURN(
      Sha256Digest tag,
      HeaderTag(keys.header_key, absl::MakeConstSpan(header.raw.data(), body),
                prefix));
  if (CRYPTO_memcmp(tag.data(), header.raw.data() + body, tag.size()) != 0) {
    return absl::DataLossError(
        "header authentication failed: a header field, key slot or the "
        "cleartext prefix was changed");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat");
  const uint64_t expected = header.ExpectedFileSize();
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  const uint64_t actual =
      length.has_value()
          ? std::min(*length, file_size - std::min(base, file_size))
          : file_size - std::min(base, file_size);
  if (actual < expected) {
    return absl::DataLossError(absl::StrCat("file is truncated: ", actual,
                                            " bytes, expected ", expected));
  }
  if (actual > expected) {
    return absl::DataLossError(absl::StrCat("file has ", actual - expected,
                                            " bytes appended after its end"));
  }
  return std::unique_ptr<EnvelopeReader>(
      new EnvelopeReader(std::move(fd), base, std::move(header),
                         std::move(keys), std::move(prefix)));
}

absl::StatusOr<size_t> EnvelopeReader::ReadAt(uint64_t offset,
                                              absl::Span<uint8_t> out) const {
  return ReadPrefixedView(prefix_, size(), offset, out,
                          [this](uint64_t pos, absl::Span<uint8_t> rest) {
                            return ReadPlaintext(pos, rest);
                          });
}

absl::Status EnvelopeReader::ReadPlaintext(uint64_t pos,
                                           absl::Span<uint8_t> out) const {
  const size_t sector = header_.sector_size;
  while (!out.empty()) {
    const uint64_t first = pos / sector;
    const size_t skip = static_cast<size_t>(pos % sector);
    const size_t count =
        std::min<size_t>((skip + out.size() + sector - 1) / sector, kMaxBatch);
    const size_t take = std::min(out.size(), count * sector - skip);
    DC_RETURN_IF_ERROR(ReadBatch(first, count, skip, out.subspan(0, take)));
    pos += take;
    out.remove_prefix(take);
  }
  return absl::OkStatus();
}

// ReadBatch reads sectors [first, first + count) whose plaintext, less the
// first `skip` bytes, is `out`. Sectors wholly inside `out` are read and
// decrypted in place there; a partly covered first or last sector goes
// through the scratch buffer.
absl::Status EnvelopeReader::ReadBatch(uint64_t first, size_t count,
                                       size_t skip,
                                       absl::Span<uint8_t> out) const {
  const size_t sector = header_.sector_size;
  const bool tagged = header_.integrity;
  const bool head_partial = skip != 0 || out.size() < sector;
  const bool tail_partial = count > 1 && (skip + out.size()) < count * sector;
  uint8_t* scratch = Scratch();
  uint8_t* head_buf = head_partial ? scratch : out.data();
  uint8_t* tail_buf = scratch + kMaxSectorSize;

  struct iovec iov[2 * kMaxBatch];
  uint8_t tags[kMaxBatch * kSectorTagSize];
  int iovcnt = 0;
  auto sector_dest = [&](size_t i) -> uint8_t* {
    if (i == 0) return head_buf;
    if (i == count - 1 && tail_partial) return tail_buf;
    return out.data() - skip + i * sector;
  };
  for (size_t i = 0; i < count; ++i) {
    uint8_t* dest = sector_dest(i);
    // Consecutive in-place sectors merge into one iovec when untagged.
    if (!tagged && iovcnt > 0 &&
        static_cast<uint8_t*>(iov[iovcnt - 1].iov_base) +
                iov[iovcnt - 1].iov_len ==
            dest) {
      iov[iovcnt - 1].iov_len += sector;
    } else {
      iov[iovcnt++] = {dest, sector};
    }
    if (tagged) iov[iovcnt++] = {tags + i * kSectorTagSize, kSectorTagSize};
  }
  const uint64_t file_pos =
      base_ + header_.data_offset + first * header_.SectorStride();
  DC_ASSIGN_OR_RETURN(size_t got, PreadvFull(fd_.get(), iov, iovcnt, file_pos));
  if (got != count * header_.SectorStride()) {
    return absl::DataLossError(absl::StrCat(
        "file is truncated at sector ", first + got / header_.SectorStride()));
  }
  auto tag_span = [&](size_t i, size_t n) {
    return absl::MakeConstSpan(tags + i * kSectorTagSize,
                               tagged ? n * kSectorTagSize : 0);
  };
  // Up to three runs: the head sector, the in-place middle, the tail sector.
  size_t mid_begin = 0;
  size_t mid_end = count;
  if (head_partial) {
    DC_RETURN_IF_ERROR(
        CheckAndDecrypt(first, {head_buf, sector}, tag_span(0, 1)));
    const size_t n = std::min(out.size(), sector - skip);
    std::memcpy(out.data(), head_buf + skip, n);
    mid_begin = 1;
  }
  if (tail_partial) {
    mid_end = count - 1;
    DC_RETURN_IF_ERROR(CheckAndDecrypt(first + count - 1, {tail_buf, sector},
                                       tag_span(count - 1, 1)));
  }
  if (mid_end > mid_begin) {
    DC_RETURN_IF_ERROR(
        CheckAndDecrypt(first + mid_begin,
                        {out.data() - skip + mid_begin * sector,
                         (mid_end - mid_begin) * sector},
                        tag_span(mid_begin, mid_end - mid_begin)));
  }
  if (tail_partial) {
    const size_t at = (count - 1) * sector - skip;
    std::memcpy(out.data() + at, tail_buf, out.size() - at);
  }
  return absl::OkStatus();
}

absl::Status EnvelopeReader::CheckAndDecrypt(
    uint64_t first_sector, absl::Span<uint8_t> data,
    absl::Span<const uint8_t> tags) const {
  const size_t sector = header_.sector_size;
  if (keys_.tagger != nullptr) {
    DC_ASSIGN_OR_RETURN(
        std::optional<size_t> bad,
        keys_.tagger->FindBadSector(first_sector, sector, data, tags));
    if (bad.has_value()) {
      const uint64_t index = first_sector + *bad;
      const uint64_t begin = header_.prefix_length + index * sector;
      return absl::DataLossError(
          absl::StrCat("integrity check failed at sector ", index, " (bytes ",
                       begin, "-", std::min(begin + sector, size()) - 1, ")"));
    }
  }
  DC_RETURN_IF_ERROR(keys_.xts->Transform(first_sector, sector, data));
  // Past the end of the plaintext, the last sector holds zeros.
  const uint64_t last = header_.SectorCount() - 1;
  const size_t used =
      static_cast<size_t>(header_.plaintext_length - last * sector);
  if (used < sector && first_sector <= last &&
      last < first_sector + data.size() / sector) {
    const absl::Span<const uint8_t> padding =
        data.subspan((last - first_sector) * sector + used);
    if (std::any_of(padding.begin(), padding.end(),
                    [](uint8_t b) { return b != 0; })) {
      return absl::DataLossError(absl::StrCat(
          "sector ", last, " holds bytes that are not zero past the end"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifyReport> EnvelopeReader::Verify(
    const ProgressFn& progress) {
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kListed = 20;
  const EnvelopeHeader& h = header_;
  std::vector<uint8_t> buf(kChunk);
  VerifyReport report;
  for (uint64_t pos = 0; pos < size();) {
    absl::StatusOr<size_t> got = ReadAt(pos, absl::MakeSpan(buf));
    if (got.ok()) {
      pos += *got;
      if (progress) progress(pos);
      continue;
    }
    if (!absl::IsDataLoss(got.status())) return got.status();
    // Find every bad sector of this chunk, one sector at a time.
    const uint64_t end = std::min<uint64_t>(pos + kChunk, size());
    for (uint64_t at = pos; at < end;) {
      const uint64_t next =
          at < h.prefix_length
              ? h.prefix_length
              : h.prefix_length + ((at - h.prefix_length) / h.sector_size + 1) *
                                      h.sector_size;
      const size_t len = static_cast<size_t>(std::min(next, end) - at);
      absl::StatusOr<size_t> one = ReadAt(at, absl::MakeSpan(buf.data(), len));
      if (!one.ok()) {
        if (!absl::IsDataLoss(one.status())) return one.status();
        if (++report.damaged <= kListed)
          report.first_few.emplace_back(one.status().message());
      }
      at += len;
    }
    pos = end;
  }
  if (report.damaged > 0) {
    report.summary = absl::StrCat(
        "FAILED: ", report.damaged, " of ", h.SectorCount(), " sectors damaged",
        report.damaged > kListed ? " (first 20 listed)" : "");
  } else if (h.integrity) {
    report.summary = absl::StrCat("OK: header and all ", h.SectorCount(),
                                  " sector tags verified");
  } else {
    report.summary =
        "header verified; sealed without integrity tags, so sector contents "
        "cannot be checked";
  }
  return report;
}

}  // namespace dumpcrypt
