// SecretBytes holds key material: in OpenSSL's secure heap (one arena of
// 1 MiB between guard pages) or, for large buffers and when the arena is
// full, in pages of its own; locked in memory where the limits allow,
// excluded from core dumps, and cleansed when freed.
#ifndef DUMPCRYPT_CRYPTO_SECRET_BYTES_H_
#define DUMPCRYPT_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace dumpcrypt {

// SecretBytes is a move-only buffer for keys. It never prints and has no
// conversion to a string. Not thread-safe for writes; const use is.
class SecretBytes {
 public:
  SecretBytes() = default;
  // SecretBytes(size) allocates `size` zero bytes, aligned to 64 bytes.
  // Throws std::bad_alloc when no memory can be mapped, as operator new
  // does.
  explicit SecretBytes(size_t size);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // CopyOf returns a SecretBytes holding a copy of `bytes`. The caller
  // remains responsible for cleansing `bytes`.
  static SecretBytes CopyOf(absl::Span<const uint8_t> bytes);
  // Random returns `size` bytes from OpenSSL's private DRBG; INTERNAL if the
  // DRBG fails.
  static absl::StatusOr<SecretBytes> Random(size_t size);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  absl::Span<const uint8_t> span() const { return {data_, size_}; }
  absl::Span<uint8_t> mutable_span() { return {data_, size_}; }

  // Clone returns an independent copy.
  SecretBytes Clone() const { return CopyOf(span()); }
  // Truncate shrinks the visible size to `size` (<= size()); the cut bytes
  // are cleansed at once.
  void Truncate(size_t size);
  // Equals compares in constant time for equal sizes.
  bool Equals(const SecretBytes& other) const;

 private:
  void Free();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // 0: in the secure heap
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_SECRET_BYTES_H_
