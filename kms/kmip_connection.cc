#include "kms/kmip_connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "crypto/openssl_util.h"
#include "crypto/secret_bytes.h"

namespace dumpcrypt {
namespace {

constexpr size_t kMaxResponse = 16 << 20;

int RemainingMs(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  return left <= absl::ZeroDuration()
             ? 0
             : static_cast<int>(absl::ToInt64Milliseconds(left) + 1);
}

// WaitFd waits until `fd` is ready for `events` or the deadline passes.
bool WaitFd(int fd, short events, absl::Time deadline) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    const int ms = RemainingMs(deadline);
    if (ms == 0) return false;
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out;
}

}  // namespace

absl::StatusOr<SslCtxPtr> MakeKmipTlsContext(const std::string& ca_file,
                                             const std::string& cert_file,
                                             const std::string& key_file) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr)
    return OpenSslError(absl::StatusCode::kInternal, "TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "cannot load CA file " + ca_file);
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "cannot load client certificate " + cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "cannot load client key " + key_file);
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return OpenSslError(
        absl::StatusCode::kInvalidArgument,
        "client key " + key_file + " does not match " + cert_file);
  }
  return ctx;
}

std::string ClientSubject(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr) return "(no client certificate)";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

namespace {

// ConnectOne connects to one address by `deadline`: DEADLINE_EXCEEDED if
// it does not answer in time, UNAVAILABLE if it refuses.
absl::StatusOr<UniqueFd> ConnectOne(const struct addrinfo& a,
                                    absl::Time deadline) {
  UniqueFd fd(
      ::socket(a.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return absl::UnavailableError(
        absl::StrCat("socket: ", std::strerror(errno)));
  if (::connect(fd.get(), a.ai_addr, a.ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    return absl::UnavailableError(
        absl::StrCat("connect: ", std::strerror(errno)));
  }
  if (!WaitFd(fd.get(), POLLOUT, deadline))
    return absl::DeadlineExceededError("connect: timed out");
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    return absl::UnavailableError(
        absl::StrCat("connect: ", std::strerror(err)));
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KmipConnection>> KmipConnection::Connect(
    SSL_CTX* ctx, const std::string& host, uint16_t port,
    absl::Duration connect_timeout, absl::Duration io_timeout) {
  struct addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* addrs = nullptr;
  const std::string port_text = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &addrs);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<struct addrinfo, decltype(&freeaddrinfo)> owned(addrs,
                                                                  freeaddrinfo);
  // Each address in turn (a name may give IPv6 and IPv4), within the one
  // connect deadline.
  const absl::Time connect_deadline = absl::Now() + connect_timeout;
  UniqueFd fd;
  absl::Status failed;
  for (const struct addrinfo* a = addrs; a != nullptr && !fd.valid();
       a = a->ai_next) {
    absl::StatusOr<UniqueFd> one = ConnectOne(*a, connect_deadline);
    if (one.ok()) {
      fd = *std::move(one);
    } else if (failed.ok() || !absl::IsDeadlineExceeded(failed)) {
      failed = one.status();
    }
  }
  if (!fd.valid()) {
    if (absl::IsDeadlineExceeded(failed)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "connect: timed out after ", absl::FormatDuration(connect_timeout)));
    }
    return failed;
  }
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return absl::UnavailableError("TLS: " + SslErrors());
  std::unique_ptr<KmipConnection> conn(
      new KmipConnection(std::move(fd), ssl, io_timeout));
  SSL_set_fd(ssl, conn->fd_.get());
  struct in6_addr ip;
  if (inet_pton(AF_INET, host.c_str(), &ip) == 1 ||
      inet_pton(AF_INET6, host.c_str(), &ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set1_host(ssl, host.c_str());
    SSL_set_tlsext_host_name(ssl, host.c_str());
  }
  absl::Status handshake = conn->Io(absl::Now() + io_timeout, "TLS handshake",
                                    [ssl] { return SSL_connect(ssl); });
  if (!handshake.ok()) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return absl::UnavailableError(absl::StrCat(
          "TLS handshake: server certificate verification failed: ",
          X509_verify_cert_error_string(verify)));
    }
    return handshake;
  }
  return conn;
}

KmipConnection::~KmipConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

absl::Status KmipConnection::Io(absl::Time deadline, const char* what,
                                const std::function<int()>& op) {
  for (;;) {
    ERR_clear_error();
    const int rc = op();
    if (rc > 0) return absl::OkStatus();
    const int err = SSL_get_error(ssl_, rc);
    short events = 0;
    if (err == SSL_ERROR_WANT_READ) events = POLLIN;
    if (err == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    if (events == 0) {
      std::string detail = SslErrors();
      if (detail.empty())
        detail = err == SSL_ERROR_ZERO_RETURN || rc == 0 ? "connection closed"
                                                         : std::strerror(errno);
      return absl::UnavailableError(absl::StrCat(what, ": ", detail));
    }
    if (!WaitFd(fd_.get(), events, deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, ": timed out after ", absl::FormatDuration(io_timeout_)));
    }
  }
}

absl::StatusOr<Ttlv> KmipConnection::Call(const Ttlv& request) {
  const absl::Time deadline = absl::Now() + io_timeout_;
  // A Register request carries the key itself.
  std::string bytes = request.Encode();
  absl::Cleanup cleanse = [&bytes] {
    OPENSSL_cleanse(bytes.data(), bytes.size());
  };
  size_t sent = 0;
  while (sent < bytes.size()) {
    size_t n = 0;
    absl::Status s = Io(deadline, "send", [&] {
      return SSL_write_ex(ssl_, bytes.data() + sent, bytes.size() - sent, &n);
    });
    if (!s.ok()) return s;
    sent += n;
  }
  auto read_exactly = [&](uint8_t* out, size_t want) -> absl::Status {
    size_t got = 0;
    while (got < want) {
      size_t n = 0;
      absl::Status s = Io(deadline, "receive", [&] {
        return SSL_read_ex(ssl_, out + got, want - got, &n);
      });
      if (!s.ok()) return s;
      got += n;
    }
    return absl::OkStatus();
  };
  uint8_t head[8];
  if (absl::Status s = read_exactly(head, 8); !s.ok()) return s;
  const size_t length = static_cast<size_t>(head[4]) << 24 | head[5] << 16 |
                        head[6] << 8 | head[7];
  if (length > kMaxResponse)
    return absl::InvalidArgumentError("KMIP response over 16 MiB");
  // The reply may carry key material: keep it in locked memory.
  SecretBytes buf(8 + length);
  std::memcpy(buf.data(), head, 8);
  if (absl::Status s = read_exactly(buf.data() + 8, length); !s.ok()) return s;
  last_used_ = absl::Now();
  return Ttlv::Decode(buf.span());
}

}  // namespace dumpcrypt
