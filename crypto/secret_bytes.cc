#include "crypto/secret_bytes.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <utility>

#include "absl/status/status.h"

namespace dumpcrypt {
namespace {

constexpr size_t kArenaSize = size_t{1} << 20;
constexpr size_t kMinBlock = 64;

// ArenaReady sets up OpenSSL's secure heap once: one mapping between guard
// pages, locked and kept out of core dumps where the limits allow.
bool ArenaReady() {
  static const bool ready = CRYPTO_secure_malloc_initialized() ||
                            CRYPTO_secure_malloc_init(kArenaSize, kMinBlock);
  return ready;
}

}  // namespace

SecretBytes::SecretBytes(size_t size) {
  if (size == 0) return;
  if (ArenaReady()) {
    // Null when the arena is full; no error is queued without a file name.
    if (void* p = CRYPTO_secure_zalloc(size, nullptr, 0)) {
      data_ = static_cast<uint8_t*>(p);
      size_ = size;
      return;
    }
  }
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t mapped = (size + page - 1) / page * page;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Both are best effort: RLIMIT_MEMLOCK may be small for non-root users.
  (void)::mlock(p, mapped);
  (void)::madvise(p, mapped, MADV_DONTDUMP);
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
  mapped_ = mapped;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Free();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Free(); }

void SecretBytes::Free() {
  if (data_ == nullptr) return;
  if (mapped_ == 0) {
    CRYPTO_secure_clear_free(data_, size_, nullptr, 0);
  } else {
    OPENSSL_cleanse(data_, mapped_);
    (void)::munlock(data_, mapped_);
    ::munmap(data_, mapped_);
  }
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
}

SecretBytes SecretBytes::CopyOf(absl::Span<const uint8_t> bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

absl::StatusOr<SecretBytes> SecretBytes::Random(size_t size) {
  SecretBytes out(size);
  if (size > 0 && RAND_priv_bytes(out.data_, static_cast<int>(size)) != 1) {
    return absl::InternalError("random generator failed");
  }
  return out;
}

void SecretBytes::Truncate(size_t size) {
  if (size >= size_) return;
  OPENSSL_cleanse(data_ + size, size_ - size);
  size_ = size;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  return size_ == 0 || CRYPTO_memcmp(data_, other.data_, size_) == 0;
}

}  // namespace dumpcrypt
