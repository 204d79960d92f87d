#include "tests/run_tool.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace dumpcrypt::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

std::string ToolPath(const std::string& name) {
  const char* dir = std::getenv("DUMPCRYPT_BIN_DIR");
  return std::string(dir ? dir : ".") + "/" + name;
}

std::string GdbFrames(const std::string& program, const std::string& core) {
  const ToolResult bt =
      RunTool({"gdb", "-batch", "-nx", "-ex", "bt", program, core});
  std::string frames;
  std::istringstream lines(bt.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#", 0) == 0) frames += line + "\n";
  }
  return frames;
}

ToolResult RunTool(const std::vector<std::string>& argv,
                   const std::string& input) {
  char out_path[] = "/tmp/dumpcrypt-out-XXXXXX";
  char err_path[] = "/tmp/dumpcrypt-err-XXXXXX";
  char in_path[] = "/tmp/dumpcrypt-in-XXXXXX";
  int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path),
      in_fd = mkstemp(in_path);
  if (write(in_fd, input.data(), input.size()) !=
      static_cast<ssize_t>(input.size()))
    std::abort();
  lseek(in_fd, 0, SEEK_SET);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(out_fd);
  close(err_fd);
  close(in_fd);
  ToolResult r;
  r.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(out_path);
  r.err = Slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  unlink(in_path);
  return r;
}

}  // namespace dumpcrypt::testing
