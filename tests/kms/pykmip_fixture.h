// Real PyKMIP servers on loopback for tests, stopped in every outcome.
#ifndef DUMPCRYPT_TESTS_KMS_PYKMIP_FIXTURE_H_
#define DUMPCRYPT_TESTS_KMS_PYKMIP_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace dumpcrypt::testing {

class PyKmipCluster {
 public:
  // Start generates a CA, a server and two client certificates (CN
  // dumpcrypt-client and dumpcrypt-other) in `dir` with openssl, and starts
  // `count` servers (own databases) on free ports. FAILED_PRECONDITION if
  // /usr/bin/pykmip-server is not installed.
  static absl::StatusOr<std::unique_ptr<PyKmipCluster>> Start(
      const std::string& dir, int count);
  ~PyKmipCluster();  // stops every server

  uint16_t port(int i) const { return servers_[i].port; }
  // WriteConfig writes a dumpcrypt KMS config with provider `name` over
  // `servers` ("host:port" strings); `ca` and `client` name the files used.
  std::string WriteConfig(const std::string& file, const std::string& name,
                          const std::vector<std::string>& servers,
                          const std::string& client = "client",
                          const std::string& ca = "ca.crt",
                          int connect_ms = 1000, int io_ms = 2000,
                          int retry_hung_ms = 30000) const;
  std::string Address(int i) const {
    return "127.0.0.1:" + std::to_string(port(i));
  }

  absl::Status StartServer(int i);
  void StopServer(int i);
  void Pause(int i);   // SIGSTOP: accepts TCP, answers nothing
  void Resume(int i);  // SIGCONT
  // CountOperation counts the times server i processed `operation` ("Get").
  int CountOperation(int i, const std::string& operation) const;
  // CountRequests counts the request messages server i answered (each may
  // hold several operations).
  int CountRequests(int i) const;
  const std::string& dir() const { return dir_; }

 private:
  struct Server {
    uint16_t port = 0;
    pid_t pid = -1;
    std::string config, log;
  };
  explicit PyKmipCluster(std::string dir) : dir_(std::move(dir)) {}
  int CountInLog(int i, const std::string& needle) const;
  std::string dir_;
  std::vector<Server> servers_;
};

}  // namespace dumpcrypt::testing

#endif  // DUMPCRYPT_TESTS_KMS_PYKMIP_FIXTURE_H_
