#include "fs/tar_index.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace dumpcrypt {
namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace

absl::StatusOr<std::vector<TarMember>> ListTar(int fd) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  // Every filter is known, so that a compressed tar is named as such.
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (::lseek(fd, 0, SEEK_SET) != 0 ||
      archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a tar: ", archive_error_string(a.get())));
  }
  std::vector<TarMember> members;
  archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      const char* why = archive_error_string(a.get());
      if (members.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("not a tar: ", why ? why : "unknown format"));
      }
      return absl::DataLossError(absl::StrCat("tar is damaged: ", why));
    }
    if (archive_filter_count(a.get()) > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a ", archive_filter_name(a.get(), 0),
          "-compressed tar cannot be read in place: uncompress it first "
          "(e.g. gunzip, zstd -d; envelopes do not compress anyway)"));
    }
    if (archive_entry_filetype(entry) == AE_IFREG) {
      // After its header, the format reader has consumed exactly up to the
      // member's first byte.
      members.push_back(
          {archive_entry_pathname(entry),
           static_cast<uint64_t>(archive_filter_bytes(a.get(), 0)),
           static_cast<uint64_t>(archive_entry_size(entry)),
           static_cast<int64_t>(archive_entry_mtime(entry))});
    }
    if (archive_read_data_skip(a.get()) != ARCHIVE_OK) {
      return absl::DataLossError(
          absl::StrCat("tar is damaged: ", archive_error_string(a.get())));
    }
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return absl::InternalError("fstat");
  for (const TarMember& m : members) {
    if (m.offset + m.size > static_cast<uint64_t>(st.st_size)) {
      return absl::DataLossError(
          absl::StrCat("tar is truncated in member ", m.path));
    }
  }
  return members;
}

}  // namespace dumpcrypt
