// KmipConnection: one mutually authenticated TLS connection to a KMIP server.
#ifndef DUMPCRYPT_KMS_KMIP_CONNECTION_H_
#define DUMPCRYPT_KMS_KMIP_CONNECTION_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/file_io.h"
#include "kms/ttlv.h"

namespace dumpcrypt {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// MakeKmipTlsContext loads the CA (to verify servers) and the client
// certificate and key (TLS 1.2 or later). INVALID_ARGUMENT naming the file
// that cannot be loaded or a key that does not match its certificate.
absl::StatusOr<SslCtxPtr> MakeKmipTlsContext(const std::string& ca_file,
                                             const std::string& cert_file,
                                             const std::string& key_file);

// ClientSubject returns the subject of the context's client certificate,
// for messages ("CN=...").
std::string ClientSubject(SSL_CTX* ctx);

class KmipConnection {
 public:
  // Connect opens TCP to host:port within `connect_timeout` (a refused port
  // fails at once) and completes the TLS handshake within `io_timeout`,
  // verifying the server's certificate chain and that it names `host` (DNS
  // name or IP address). DEADLINE_EXCEEDED when either time runs out,
  // UNAVAILABLE for every other failure, the message naming the cause
  // (refused, timed out, certificate verification error...).
  static absl::StatusOr<std::unique_ptr<KmipConnection>> Connect(
      SSL_CTX* ctx, const std::string& host, uint16_t port,
      absl::Duration connect_timeout, absl::Duration io_timeout);
  ~KmipConnection();

  // Call sends `request` and returns the decoded response, all within
  // io_timeout. UNAVAILABLE on I/O failure, DEADLINE_EXCEEDED on timeout
  // (either way the connection must then be dropped); INVALID_ARGUMENT for a
  // reply that is not TTLV.
  // Not thread-safe: one call at a time.
  absl::StatusOr<Ttlv> Call(const Ttlv& request);

  absl::Time last_used() const { return last_used_; }

 private:
  KmipConnection(UniqueFd fd, SSL* ssl, absl::Duration io_timeout)
      : fd_(std::move(fd)), ssl_(ssl), io_timeout_(io_timeout) {}
  absl::Status Io(absl::Time deadline, const char* what,
                  const std::function<int()>& op);

  UniqueFd fd_;
  SSL* ssl_;
  const absl::Duration io_timeout_;
  absl::Time last_used_ = absl::Now();
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_KMS_KMIP_CONNECTION_H_
