// dumpcrypt: seal, describe, extract and verify encrypted core dumps.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>

#include "CLI/CLI.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace {

// OpenStandardFds puts /dev/null on any of descriptors 0-2 that is closed,
// as when the kernel starts a core_pattern handler with only stdin open:
// else the first files opened take them, and messages go into those files.
void OpenStandardFds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dumpcrypt::cli;
  OpenStandardFds();
  CLI::App app(
      "dumpcrypt: seal core dumps into encrypted envelopes (AES-256-XTS, "
      "per-sector tags, keys by keyID), describe them without a key, and "
      "extract or verify them with one.\n\n"
      "Exit status: 0 ok, 1 error, 2 usage, 3 key not available or wrong, "
      "4 integrity failure (data changed).",
      "dumpcrypt");
  app.set_version_flag("--version", DUMPCRYPT_VERSION);
  app.require_subcommand(1);
  int exit_code = kExitOk;
  AddKeystoreCommands(app, &exit_code);
  AddSealCommand(app, &exit_code);
  AddDescribeCommand(app, &exit_code);
  AddExtractCommand(app, &exit_code);
  AddVerifyCommand(app, &exit_code);
  AddKeysCommand(app, &exit_code);
  AddRekeyCommands(app, &exit_code);
  AddBundleCommand(app, &exit_code);
  AddKmsCommands(app, &exit_code);
  AddCoreHandlerCommand(app, &exit_code);
  AddKeycacheCommands(app, &exit_code);
  AddListCommand(app, &exit_code);
  AddDebugCommand(app, &exit_code);
  AddSpeedCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    // Unwinding first lets every partial output remove itself.
    std::fprintf(stderr, "dumpcrypt: internal error: %s\n", e.what());
    return kExitError;
  }
  return exit_code;
}
