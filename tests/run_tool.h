// RunTool runs a program, optionally feeding stdin, and captures its output.
#ifndef DUMPCRYPT_TESTS_RUN_TOOL_H_
#define DUMPCRYPT_TESTS_RUN_TOOL_H_

#include <string>
#include <vector>

namespace dumpcrypt::testing {

struct ToolResult {
  int exit_code = -1;  // 128 + signal if killed
  std::string out;
  std::string err;
};

// RunTool runs `argv` (argv[0] looked up in PATH unless it has a slash) with
// `input` on stdin and returns its exit code and output.
ToolResult RunTool(const std::vector<std::string>& argv,
                   const std::string& input = "");

// GdbFrames runs `gdb -batch -ex bt PROGRAM CORE` and returns the frame
// lines of its backtrace ("#0 ..."), one per line.
std::string GdbFrames(const std::string& program, const std::string& core);

// ToolPath returns the path of a built tool: $DUMPCRYPT_BIN_DIR/name.
std::string ToolPath(const std::string& name);

}  // namespace dumpcrypt::testing

#endif  // DUMPCRYPT_TESTS_RUN_TOOL_H_
