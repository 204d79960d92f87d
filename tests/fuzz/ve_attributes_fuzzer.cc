// libFuzzer target: the VMware .ve header (read through a memfd, at offset
// 0 or 4096), its attribute parser and keyInfo locators.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "envelope/ve_envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto attrs = dumpcrypt::ParseVeAttributes(absl::MakeConstSpan(data, size));
  if (attrs.ok()) {
    for (const auto& a : *attrs) {
      if (a.name == "vmware.keyInfo") (void)dumpcrypt::VeKeyRef(a.value);
    }
  }
  (void)dumpcrypt::VeKeyRef(
      std::string(reinterpret_cast<const char*>(data), size));
  // The whole header path, as a file would give it.
  const int fd = memfd_create("ve", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    auto header = dumpcrypt::ReadVeHeader(fd);
    if (header.ok() && header->data_start > header->file_size) __builtin_trap();
  }
  close(fd);
  return 0;
}
