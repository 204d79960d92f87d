// libFuzzer target: the local key store parser, fed untrusted bytes through
// a memfd (mode 0600, as a store must be).
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kms/local_keystore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("keystore", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (fchmod(fd, 0600) == 0 &&
      write(fd, data, size) == static_cast<ssize_t>(size)) {
    auto store =
        dumpcrypt::LocalKeyStore::Open("/proc/self/fd/" + std::to_string(fd));
    if (store.ok()) {
      // The keyIDs listed resolve, to 32-byte keys. Each Resolve reads the
      // whole store again: the first 16 keep an input's cost linear.
      auto ids = (*store)->ListIds();
      if (ids.ok()) {
        if (ids->size() > 16) ids->resize(16);
        for (const std::string& id : *ids) {
          auto key = (*store)->Resolve({"local", id});
          if (!key.ok() || key->size() != 32) __builtin_trap();
        }
      }
      (void)(*store)->Resolve({"local", "k1"});
    }
  }
  close(fd);
  return 0;
}
