// LeasePool: keyed cipher or MAC contexts (OpenSSL's, libgcrypt's) lent to
// concurrent callers, so that each key is scheduled once per context and no
// two threads share one.
#ifndef DUMPCRYPT_CRYPTO_LEASE_POOL_H_
#define DUMPCRYPT_CRYPTO_LEASE_POOL_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace dumpcrypt {

// `Ptr` is a std::unique_ptr owning one handle. Thread-safe.
template <typename Ptr>
class LeasePool {
 public:
  // Factory makes a new keyed handle, or says why it cannot.
  using Factory = std::function<absl::StatusOr<Ptr>()>;

  explicit LeasePool(Factory make) : make_(std::move(make)) {}
  LeasePool(const LeasePool&) = delete;
  LeasePool& operator=(const LeasePool&) = delete;

  // Lease returns its handle to the pool when destroyed; the pool must
  // outlive it.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), handle_(std::move(other.handle_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (handle_ != nullptr) pool_->Release(std::move(handle_));
    }
    typename Ptr::pointer get() const { return handle_.get(); }

   private:
    friend class LeasePool;
    Lease(const LeasePool* pool, Ptr handle)
        : pool_(pool), handle_(std::move(handle)) {}
    const LeasePool* pool_;
    Ptr handle_;
  };

  // Acquire returns a free handle, or a new one from the factory when none is
  // free (the factory's error if it fails).
  absl::StatusOr<Lease> Acquire() const {
    {
      absl::MutexLock lock(&mu_);
      if (!free_.empty()) {
        Ptr handle = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(handle));
      }
    }
    absl::StatusOr<Ptr> handle = make_();
    if (!handle.ok()) return handle.status();
    return Lease(this, *std::move(handle));
  }

 private:
  void Release(Ptr handle) const {
    absl::MutexLock lock(&mu_);
    free_.push_back(std::move(handle));
  }

  const Factory make_;
  mutable absl::Mutex mu_;
  mutable std::vector<Ptr> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_LEASE_POOL_H_
