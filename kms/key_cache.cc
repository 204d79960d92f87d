#include "kms/key_cache.h"

#include "absl/strings/str_cat.h"

namespace dumpcrypt {

KeyCache::KeyCache(std::unique_ptr<KeyResolver> source, Options options,
                   Observer observer)
    : source_(std::move(source)),
      options_(std::move(options)),
      observer_(std::move(observer)) {}

absl::StatusOr<SecretBytes> KeyCache::Resolve(const KeyRef& ref) {
  const Key key{ref.provider, ref.key_id};
  {
    absl::MutexLock lock(&mu_);
    for (;;) {
      auto it = entries_.find(key);
      if (it == entries_.end()) break;
      Entry& e = it->second;
      if (e.state == Entry::State::kFetching) {
        fetched_.Wait(&mu_);
        continue;
      }
      if (e.state == Entry::State::kAvailable) {
        e.when = Now();
        return e.key->Clone();
      }
      if (Now() - e.when < options_.negative_ttl) return e.error;
      break;
    }
    entries_[key] =
        Entry{Entry::State::kFetching, nullptr, absl::OkStatus(), Now()};
    ++fetches_;
  }
  absl::StatusOr<SecretBytes> fetched = source_->Resolve(ref);
  if (observer_) observer_(ref, fetched.status());
  absl::MutexLock lock(&mu_);
  fetched_.SignalAll();
  Entry& e = entries_[key];
  e.when = Now();
  if (!fetched.ok()) {
    e.state = Entry::State::kFailed;
    e.error = fetched.status();
    return fetched.status();
  }
  e.state = Entry::State::kAvailable;
  e.key = std::make_shared<const SecretBytes>(fetched->Clone());
  return fetched;
}

bool KeyCache::Answers(const KeyRef& ref) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(Key{ref.provider, ref.key_id});
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  return e.state == Entry::State::kAvailable ||
         (e.state == Entry::State::kFailed &&
          Now() - e.when < options_.negative_ttl);
}

std::string KeyCache::Status(const KeyRef& ref) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(Key{ref.provider, ref.key_id});
  if (it == entries_.end()) return "untried";
  switch (it->second.state) {
    case Entry::State::kFetching:
      return "fetching";
    case Entry::State::kAvailable:
      return "available";
    case Entry::State::kFailed:
      break;
  }
  return absl::StrCat(absl::IsUnavailable(it->second.error) ||
                              absl::IsDeadlineExceeded(it->second.error)
                          ? "unreachable: "
                          : "missing: ",
                      it->second.error.message());
}

int KeyCache::DropIdle() {
  const bool idle = options_.idle != absl::ZeroDuration();
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  int dropped = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if ((idle && e.state == Entry::State::kAvailable &&
         now - e.when > options_.idle) ||
        (e.state == Entry::State::kFailed &&
         now - e.when >= options_.negative_ttl)) {
      it = entries_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

int KeyCache::FetchCount() const {
  absl::MutexLock lock(&mu_);
  return fetches_;
}

}  // namespace dumpcrypt
