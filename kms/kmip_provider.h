// KmipProvider: a key provider, several replicated KMIP servers used with
// failover, as vCenter groups them.
#ifndef DUMPCRYPT_KMS_KMIP_PROVIDER_H_
#define DUMPCRYPT_KMS_KMIP_PROVIDER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crypto/secret_bytes.h"
#include "kms/kmip.h"
#include "kms/kmip_connection.h"

namespace dumpcrypt {

struct KmipServer {
  std::string host;
  uint16_t port = 5696;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

struct ProviderConfig {
  std::string name;
  std::vector<KmipServer> servers;
  std::string ca_file, cert_file, key_file;
  absl::Duration connect_timeout = absl::Milliseconds(2000);
  absl::Duration io_timeout = absl::Milliseconds(5000);
  absl::Duration idle_close = absl::Seconds(60);
  // A server that timed out is not asked again for this long.
  absl::Duration retry_hung_after = absl::Seconds(30);
};

// Warn receives warnings (deactivated or compromised keys, fallbacks).
using Warn = std::function<void(const std::string&)>;

// Every error message names the provider, the server(s) asked, the keyID
// where there is one, and the cause. A server that timed out (hung, or
// unreachable without a refusal) is skipped for `retry_hung_after`, so that
// a dead cluster costs one wait, not one per request; when every server is
// skipped, a request fails at once. Thread-safe.
class KmipProvider {
 public:
  static absl::StatusOr<std::unique_ptr<KmipProvider>> Create(
      ProviderConfig config, Warn warn);

  // GetKey fetches key `id` for decryption: its State and the key (Get, Raw)
  // in one request of two batch items, so one round trip. Active
  // keys are returned; Deactivated and Compromised ones too, with a warning;
  // others are FAILED_PRECONDITION. NOT_FOUND only when every reachable
  // server said Item Not Found; UNAVAILABLE when none could be reached;
  // PERMISSION_DENIED naming the client certificate's subject.
  absl::StatusOr<SecretBytes> GetKey(const std::string& id);
  // GetKeyForSealing is GetKey, but only an Active key will do.
  absl::StatusOr<SecretBytes> GetKeyForSealing(const std::string& id);
  absl::StatusOr<kmip::KeyState> GetState(const std::string& id);
  // CreateKey makes and activates an AES-256 key named `name`; returns its id.
  absl::StatusOr<std::string> CreateKey(const std::string& name);
  // RegisterKey imports known key bytes (32) as an active AES-256 key.
  absl::StatusOr<std::string> RegisterKey(const std::string& name,
                                          const SecretBytes& key);
  // Locate returns the ids of objects named `name`.
  absl::StatusOr<std::vector<std::string>> Locate(const std::string& name);

  // CloseIdle drops connections unused for longer than idle_close.
  void CloseIdle();
  const std::string& name() const { return config_.name; }

 private:
  KmipProvider(ProviderConfig config, SslCtxPtr ctx, Warn warn);
  // CallBatch sends `items` as one request to the servers in turn, from the
  // last that answered, until one answers; returns every item's reply, or
  // the first failure as a Status naming `what`. Item Not Found moves on to
  // the next server if `ask_all_if_not_found`.
  absl::StatusOr<std::vector<kmip::Reply>> CallBatch(
      std::vector<kmip::Item> items, const std::string& what,
      bool ask_all_if_not_found);
  absl::StatusOr<kmip::Reply> Call(kmip::Operation op,
                                   std::vector<Ttlv> payload,
                                   const std::string& what,
                                   bool ask_all_if_not_found);
  absl::StatusOr<kmip::KeyState> StateOf(const kmip::Reply& reply,
                                         const std::string& id) const;
  absl::StatusOr<Ttlv> CallServer(size_t index, const Ttlv& request);
  absl::StatusOr<SecretBytes> FetchKey(const std::string& id, bool for_sealing);
  absl::Status Named(const absl::Status& status, const std::string& what) const;
  // Skipped says why server `index` is not to be asked now, or "".
  std::string Skipped(size_t index) ABSL_LOCKS_EXCLUDED(mu_);

  const ProviderConfig config_;
  const SslCtxPtr ctx_;
  const Warn warn_;
  std::atomic<size_t> last_good_{0};
  absl::Mutex mu_;
  // Idle connections per server.
  std::vector<std::vector<std::unique_ptr<KmipConnection>>> idle_
      ABSL_GUARDED_BY(mu_);
  struct Hung {
    absl::Time until = absl::InfinitePast();
    std::string why;
  };
  std::vector<Hung> hung_ ABSL_GUARDED_BY(mu_);  // per server
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_KMIP_PROVIDER_H_
