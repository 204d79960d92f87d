// libFuzzer target: the KMS configuration loader (TOML), fed untrusted bytes
// through a memfd, as a file would give them.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kms/kms_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("kms-config", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    auto config =
        dumpcrypt::LoadKmsConfig("/proc/self/fd/" + std::to_string(fd));
    // What loads is complete: every provider named, with servers and ports.
    if (config.ok()) {
      if (config->providers.empty() || config->default_provider.empty())
        __builtin_trap();
      for (const dumpcrypt::ProviderConfig& p : config->providers) {
        if (p.name.empty() || p.servers.empty() || p.key_file.empty())
          __builtin_trap();
        for (const auto& server : p.servers)
          if (server.port == 0) __builtin_trap();
      }
    }
  }
  close(fd);
  return 0;
}
