// libFuzzer target: an ESXi encryption.info host key store, untrusted bytes
// read as a file (a memfd).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/file_io.h"
#include "kms/vmware_keystore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("encryption.info", MFD_CLOEXEC);
  if (fd < 0) return 0;
  dumpcrypt::UniqueFd owned(fd);
  if (write(fd, data, size) != static_cast<ssize_t>(size)) return 0;
  auto store =
      dumpcrypt::VmwareKeyStore::Open("/proc/self/fd/" + std::to_string(fd));
  if (store.ok()) {
    auto key = (*store)->Resolve({"", (*store)->key_id()});
    if (!key.ok() || key->size() != 32) __builtin_trap();
  }
  return 0;
}
