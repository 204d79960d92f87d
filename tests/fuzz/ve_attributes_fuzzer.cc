// libFuzzer target: the VMware .ve attribute parser and keyInfo locators.
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/ve_envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto attrs = dumpcrypt::ParseVeAttributes(absl::MakeConstSpan(data, size));
  if (attrs.ok()) {
    for (const auto& a : *attrs) {
      if (a.name == "vmware.keyInfo") (void)dumpcrypt::VeKeyRef(a.value);
    }
  }
  (void)dumpcrypt::VeKeyRef(
      std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
