#include "fs/init_reply.h"

#include <cstdint>
#include <cstring>

namespace dumpcrypt {
namespace {

// From the kernel's include/uapi/linux/fuse.h.
constexpr size_t kOutHeaderSize = 16;
constexpr size_t kErrorOffset = 4;    // in fuse_out_header
constexpr size_t kFlagsOffset = 12;   // in fuse_init_out
constexpr size_t kFlags2Offset = 32;  // in fuse_init_out
constexpr uint32_t kInitExt = 1u << 30;
constexpr uint32_t kDirectIoAllowMmap = 1u << (36 - 32);  // a flags2 bit

uint32_t Load(const void* base, size_t offset) {
  uint32_t v;
  std::memcpy(&v, static_cast<const char*>(base) + offset, sizeof(v));
  return v;
}

void Store(void* base, size_t offset, uint32_t v) {
  std::memcpy(static_cast<char*>(base) + offset, &v, sizeof(v));
}

}  // namespace

bool AllowSharedMappings(iovec* iov, int count) {
  if (count != 2 || iov[0].iov_len != kOutHeaderSize ||
      iov[1].iov_len < kFlags2Offset + 4) {
    return false;
  }
  void* init = iov[1].iov_base;
  if (Load(iov[0].iov_base, kErrorOffset) != 0 || Load(init, 0) != 7) {
    return false;
  }
  Store(init, kFlagsOffset, Load(init, kFlagsOffset) | kInitExt);
  Store(init, kFlags2Offset, Load(init, kFlags2Offset) | kDirectIoAllowMmap);
  return true;
}

}  // namespace dumpcrypt
