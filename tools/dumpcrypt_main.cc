// dumpcrypt: seal, describe, extract and verify encrypted core dumps.
#include <cstdio>
#include <exception>

#include "CLI/CLI.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  using namespace dumpcrypt::cli;
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
  AddKmsCommands(app, &exit_code);
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
