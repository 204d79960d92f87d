#include "tests/kms/pykmip_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  ToolResult r = RunTool(argv);
  if (r.exit_code != 0)
    return absl::InternalError("openssl " + args[0] + ": " + r.err);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PyKmipCluster>> PyKmipCluster::Start(
    const std::string& dir, int count) {
  if (access("/usr/bin/pykmip-server", X_OK) != 0) {
    return absl::FailedPreconditionError(
        "needs Debian's python3-pykmip (/usr/bin/pykmip-server)");
  }
  std::unique_ptr<PyKmipCluster> cluster(new PyKmipCluster(dir));
  std::ofstream(dir + "/ext.cnf")
      << "[server]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "[client]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
  auto d = [&](const std::string& f) { return dir + "/" + f; };
  for (const char* ca : {"ca", "other-ca"}) {
    if (auto s = Openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-keyout", d(std::string(ca) + ".key"), "-out",
                          d(std::string(ca) + ".crt"), "-days", "2", "-subj",
                          "/CN=dumpcrypt test " + std::string(ca)});
        !s.ok()) {
      return s;
    }
  }
  for (auto [name, ext] :
       {std::pair<std::string, std::string>{"server", "server"},
        {"client", "client"},
        {"other", "client"}}) {
    if (auto s = Openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                          d(name + ".key"), "-out", d(name + ".csr"), "-subj",
                          "/CN=dumpcrypt-" + name});
        !s.ok()) {
      return s;
    }
    if (auto s = Openssl({"x509", "-req", "-in", d(name + ".csr"), "-CA",
                          d("ca.crt"), "-CAkey", d("ca.key"), "-CAcreateserial",
                          "-out", d(name + ".crt"), "-days", "2", "-extfile",
                          d("ext.cnf"), "-extensions", ext});
        !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < count; ++i) {
    Server s;
    s.port = FreePort();
    s.config = d("server" + std::to_string(i) + ".conf");
    s.log = d("server" + std::to_string(i) + ".log");
    const std::string policies = d("policies" + std::to_string(i));
    mkdir(policies.c_str(), 0700);
    std::ofstream(s.config)
        << "[server]\nhostname=127.0.0.1\nport=" << s.port
        << "\ncertificate_path=" << d("server.crt")
        << "\nkey_path=" << d("server.key") << "\nca_path=" << d("ca.crt")
        << "\nauth_suite=TLS1.2\npolicy_path=" << policies
        << "\nenable_tls_client_auth=True\n"
           "tls_cipher_suites=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 "
           "TLS_RSA_WITH_AES_256_CBC_SHA256\nlogging_level=DEBUG\ndatabase_"
           "path="
        << d("db" + std::to_string(i) + ".sqlite") << "\n";
    cluster->servers_.push_back(s);
    if (auto st = cluster->StartServer(i); !st.ok()) return st;
  }
  return cluster;
}

absl::Status PyKmipCluster::StartServer(int i) {
  Server& s = servers_[i];
  const size_t log_before = Slurp(s.log).size();
  s.pid = fork();
  if (s.pid == 0) {
    setsid();  // its own process group: it spawns children
    // If the test process dies without stopping it (a crash), so does the
    // server.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execl("/usr/bin/python3", "/usr/bin/python3", "/usr/bin/pykmip-server",
          "-f", s.config.c_str(), "-l", s.log.c_str(), nullptr);
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    const std::string log = Slurp(s.log);
    if (log.size() > log_before && log.find("Starting connection service",
                                            log_before) != std::string::npos) {
      return absl::OkStatus();
    }
    int status;
    if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
      s.pid = -1;
      return absl::InternalError("pykmip-server exited at start; see " + s.log);
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      "pykmip-server did not start in 30 s; see " + s.log);
}

void PyKmipCluster::StopServer(int i) {
  Server& s = servers_[i];
  if (s.pid <= 0) return;
  kill(-s.pid, SIGCONT);
  kill(-s.pid, SIGINT);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int status;
  while (waitpid(s.pid, &status, WNOHANG) != s.pid) {
    if (absl::Now() > deadline) {
      kill(-s.pid, SIGKILL);
      waitpid(s.pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  kill(-s.pid, SIGKILL);  // any child left behind
  s.pid = -1;
}

void PyKmipCluster::Pause(int i) { kill(-servers_[i].pid, SIGSTOP); }
void PyKmipCluster::Resume(int i) { kill(-servers_[i].pid, SIGCONT); }

PyKmipCluster::~PyKmipCluster() {
  for (size_t i = 0; i < servers_.size(); ++i) StopServer(static_cast<int>(i));
}

std::string PyKmipCluster::WriteConfig(const std::string& file,
                                       const std::string& name,
                                       const std::vector<std::string>& servers,
                                       const std::string& client,
                                       const std::string& ca, int connect_ms,
                                       int io_ms, int retry_hung_ms) const {
  const std::string path = dir_ + "/" + file;
  std::vector<std::string> quoted;
  for (const auto& s : servers) quoted.push_back("\"" + s + "\"");
  std::ofstream(path) << "default_provider = \"" << name
                      << "\"\n[[provider]]\nname = \"" << name
                      << "\"\nservers = [" << absl::StrJoin(quoted, ", ")
                      << "]\nca_file = \"" << ca << "\"\ncert_file = \""
                      << client << ".crt\"\nkey_file = \"" << client
                      << ".key\"\nconnect_timeout_ms = " << connect_ms
                      << "\nio_timeout_ms = " << io_ms
                      << "\nretry_hung_after_ms = " << retry_hung_ms << "\n";
  return path;
}

int PyKmipCluster::CountOperation(int i, const std::string& operation) const {
  return CountInLog(i, "Processing operation: " + operation + "\n");
}

// PyKMIP logs the client's identity once per request message.
int PyKmipCluster::CountRequests(int i) const {
  return CountInLog(i, "Session client identity: ");
}

int PyKmipCluster::CountInLog(int i, const std::string& needle) const {
  const std::string log = Slurp(servers_[i].log);
  int n = 0;
  for (size_t at = log.find(needle); at != std::string::npos;
       at = log.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace dumpcrypt::testing
