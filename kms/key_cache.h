// KeyCache: a KeyResolver in front of another that fetches each key once.
#ifndef DUMPCRYPT_KMS_KEY_CACHE_H_
#define DUMPCRYPT_KMS_KEY_CACHE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "envelope/key_resolver.h"

namespace dumpcrypt {

// KeyCache resolves each key reference at most once at a time: concurrent
// callers for the same reference wait for the one request in flight
// (single-flight), and its result is shared. Keys stay cached until unused
// for `idle` (never, if idle is zero), then are cleansed; failures are
// remembered for `negative_ttl`, then retried. No lock is held while the
// underlying resolver runs. Thread-safe.
class KeyCache : public KeyResolver {
 public:
  struct Options {
    absl::Duration idle = absl::ZeroDuration();
    absl::Duration negative_ttl = absl::Seconds(10);
    // For tests; defaults to absl::Now.
    std::function<absl::Time()> clock;
  };

  // Observer is told of every fetch: the reference and its result.
  using Observer = std::function<void(const KeyRef&, const absl::Status&)>;

  KeyCache(std::unique_ptr<KeyResolver> source, Options options,
           Observer observer = nullptr);

  // Resolve returns a copy of the cached key, fetching it first if needed;
  // a remembered failure is returned as it was until negative_ttl passes.
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override;
  // SlotKek asks the source each time: sources of such keys keep their own.
  absl::StatusOr<SecretBytes> SlotKek(const KeySlot& slot) override {
    return source_->SlotKek(slot);
  }
  std::string Describe() const override { return source_->Describe(); }

  // Status is "untried", "available", "unreachable: <cause>" (the last fetch
  // could not reach the source) or "missing: <cause>" for `ref`.
  std::string Status(const KeyRef& ref) const;

  // Answers is true if Resolve(ref) would answer at once, from what is
  // cached (a key held, or a failure not yet past negative_ttl), without
  // asking the source or waiting for a fetch in flight.
  bool Answers(const KeyRef& ref) const;

  // DropIdle cleanses keys unused for longer than `idle` and forgets
  // failures older than `negative_ttl` (so that keyIDs that never open
  // anything do not pile up); returns how many entries went.
  int DropIdle();

  // FetchCount is how many times the underlying resolver was called.
  int FetchCount() const;

 private:
  struct Entry {
    enum class State { kFetching, kAvailable, kFailed } state;
    std::shared_ptr<const SecretBytes> key;
    absl::Status error;
    absl::Time when;  // fetched, failed, or last used
  };
  using Key = std::pair<std::string, std::string>;
  absl::Time Now() const {
    return options_.clock ? options_.clock() : absl::Now();
  }

  const std::unique_ptr<KeyResolver> source_;
  const Options options_;
  const Observer observer_;
  mutable absl::Mutex mu_;
  absl::CondVar fetched_;  // signalled when a fetch completes
  std::map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_KEY_CACHE_H_
