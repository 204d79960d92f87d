#include "envelope/rekey.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/envelope_format.h"
#include "envelope/envelope_opener.h"
#include "envelope/envelope_reader.h"
#include "envelope/file_keys.h"

namespace dumpcrypt {
namespace {

// The page a single write replaces as a whole, even when killed.
constexpr uint64_t kAtomicPage = 4096;

// EncodeWithTag returns header || tag || prefix for `header` under
// `data_key`; sets header->header_length.
absl::StatusOr<std::vector<uint8_t>> EncodeWithTag(
    EnvelopeHeader* header, const SecretBytes& data_key,
    absl::Span<const uint8_t> prefix) {
  DC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, EncodeHeader(header));
  DC_ASSIGN_OR_RETURN(
      FileKeys keys,
      DeriveFileKeys(data_key, *header, XtsSectorCipher::Direction::kDecrypt));
  DC_ASSIGN_OR_RETURN(Sha256Digest tag,
                      HeaderTag(keys.header_key, bytes, prefix));
  bytes.insert(bytes.end(), tag.begin(), tag.end());
  bytes.insert(bytes.end(), prefix.begin(), prefix.end());
  return bytes;
}

// CopyInto writes `head`, zeros up to `data_offset`, then the old file's
// units from `old_data_offset` to its end, into `out`.
absl::Status CopyInto(int out, absl::Span<const uint8_t> head,
                      uint64_t data_offset, int in, uint64_t old_data_offset,
                      uint64_t units) {
  std::vector<uint8_t> first(data_offset, 0);
  std::copy(head.begin(), head.end(), first.begin());
  DC_RETURN_IF_ERROR(PwriteFull(out, first, 0));
  loff_t from = static_cast<loff_t>(old_data_offset);
  loff_t to = static_cast<loff_t>(data_offset);
  while (units > 0) {
    const ssize_t n = ::copy_file_range(in, &from, out, &to,
                                        std::min<uint64_t>(units, 1 << 30), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "copy the sectors");
    if (n == 0) return absl::DataLossError("file is truncated");
    units -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

// CheckWritten reads the header back and authenticates it.
absl::Status CheckWritten(const std::string& path,
                          const SecretBytes& data_key) {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path, O_NONBLOCK));
  DC_ASSIGN_OR_RETURN(EnvelopeHeader header, ReadHeader(fd.get()));
  return EnvelopeReader::Open(std::move(fd), std::move(header), data_key)
      .status();
}

}  // namespace

absl::StatusOr<RekeyPlan> PlanRekey(int fd, KeyResolver& keys,
                                    const SlotEdit& edit) {
  absl::StatusOr<EnvelopeHeader> header = ReadHeader(fd);
  if (absl::IsFailedPrecondition(header.status())) {
    return absl::InvalidArgumentError(
        "not a dumpcrypt envelope (only those can be re-keyed)");
  }
  if (!header.ok()) return header.status();
  RekeyPlan plan;
  DC_ASSIGN_OR_RETURN(plan.data_key, UnlockDataKey(*header, keys));
  const int check = ::dup(fd);
  if (check < 0) return ErrnoStatus(errno, "dup");
  DC_RETURN_IF_ERROR(
      EnvelopeReader::Open(UniqueFd(check), *header, plan.data_key).status());

  absl::StatusOr<std::vector<KeySlot>> slots =
      edit(header->slots, plan.data_key);
  if (!slots.ok()) return absl::InvalidArgumentError(slots.status().message());
  if (!absl::c_any_of(*slots, [](const KeySlot& s) { return s.known(); })) {
    return absl::InvalidArgumentError("no slot would be left to open it with");
  }
  std::vector<uint8_t> prefix(header->prefix_length);
  DC_ASSIGN_OR_RETURN(
      size_t got, PreadFull(fd, absl::MakeSpan(prefix), header->header_length));
  if (got != prefix.size()) return absl::DataLossError("file is truncated");
  plan.old_end = uint64_t{header->header_length} + prefix.size();
  plan.units_offset = header->data_offset;
  plan.units_length = header->ExpectedFileSize() - header->data_offset;

  EnvelopeHeader next = *header;
  next.slots = *std::move(slots);
  next.raw.clear();
  next.data_offset = kMaxPlaintextLength;  // to learn the header's length
  DC_RETURN_IF_ERROR(EncodeHeader(&next).status());
  const uint64_t used = uint64_t{next.header_length} + prefix.size();
  plan.in_place =
      used <= plan.units_offset && std::max(plan.old_end, used) <= kAtomicPage;
  next.data_offset = plan.in_place ? plan.units_offset
                                   : (used + kDataAlignment - 1) /
                                         kDataAlignment * kDataAlignment;
  DC_ASSIGN_OR_RETURN(plan.head, EncodeWithTag(&next, plan.data_key, prefix));
  plan.before = std::move(*header);
  plan.after = std::move(next);
  return plan;
}

absl::StatusOr<RekeyResult> RekeyEnvelope(const std::string& path,
                                          KeyResolver& keys,
                                          const SlotEdit& edit) {
  const int raw = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (raw < 0) return ErrnoStatus(errno, "open");
  UniqueFd fd(raw);
  DC_RETURN_IF_ERROR(RequireRegularFile(fd.get()));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return absl::AbortedError("another process is re-keying it");
    return ErrnoStatus(errno, "flock");
  }
  DC_ASSIGN_OR_RETURN(RekeyPlan plan, PlanRekey(fd.get(), keys, edit));
  RekeyResult result{plan.before.slots, plan.after.slots, !plan.in_place};
  if (plan.in_place) {
    std::vector<uint8_t> head = std::move(plan.head);
    head.resize(std::max<uint64_t>(plan.old_end, head.size()), 0);
    DC_RETURN_IF_ERROR(PwriteFull(fd.get(), head, 0));
    if (::fdatasync(fd.get()) != 0) return ErrnoStatus(errno, "fdatasync");
  } else {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat");
    DC_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path, true));
    DC_RETURN_IF_ERROR(CopyInto(out.fd(), plan.head, plan.after.data_offset,
                                fd.get(), plan.units_offset,
                                plan.units_length));
    if (::fchmod(out.fd(), st.st_mode & 07777) != 0 ||
        (::geteuid() == 0 && ::fchown(out.fd(), st.st_uid, st.st_gid) != 0)) {
      return ErrnoStatus(errno, "keep the file's mode and owner");
    }
    DC_RETURN_IF_ERROR(out.Commit());
  }
  DC_RETURN_IF_ERROR(
      Prefix(CheckWritten(path, plan.data_key), "after re-keying"));
  return result;
}

}  // namespace dumpcrypt
