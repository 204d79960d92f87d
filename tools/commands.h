// The subcommands of dumpcrypt. Each Add* registers one command (or group)
// on `app`; its callback stores the process exit code in *exit_code.
#ifndef DUMPCRYPT_TOOLS_COMMANDS_H_
#define DUMPCRYPT_TOOLS_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace dumpcrypt::cli {

void AddKeystoreCommands(CLI::App& app, int* exit_code);
void AddSealCommand(CLI::App& app, int* exit_code);
void AddDescribeCommand(CLI::App& app, int* exit_code);
void AddExtractCommand(CLI::App& app, int* exit_code);
void AddVerifyCommand(CLI::App& app, int* exit_code);
void AddKmsCommands(CLI::App& app, int* exit_code);
void AddKeysCommand(CLI::App& app, int* exit_code);
void AddRekeyCommands(CLI::App& app, int* exit_code);
void AddBundleCommand(CLI::App& app, int* exit_code);
void AddCoreHandlerCommand(CLI::App& app, int* exit_code);
void AddKeycacheCommands(CLI::App& app, int* exit_code);
void AddListCommand(CLI::App& app, int* exit_code);
void AddDebugCommand(CLI::App& app, int* exit_code);
void AddSpeedCommand(CLI::App& app, int* exit_code);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_COMMANDS_H_
