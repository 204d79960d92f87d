// The man pages of dist/man document exactly the options the tools' --help
// lists: for dumpcrypt(1) per command (a section titled "seal [KEY
// SOURCES] ..." also documents the key sources of its own section), for
// dumpcryptfs(8) every -o option of its own.
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_tool.h"
#include "tests/tools/core_handler_fixture.h"

namespace dumpcrypt::testing {
namespace {

const std::string kMan = std::string(DUMPCRYPT_SOURCE_DIR) + "/dist/man/";

// Roff's "\-" is a '-'.
std::string Plain(absl::string_view roff) {
  return absl::StrReplaceAll(roff, {{"\\-", "-"}});
}

std::set<std::string> LongOptionsIn(const std::string& text) {
  std::set<std::string> out;
  const std::regex option("--([a-z0-9][a-z0-9-]*)");
  for (std::sregex_iterator it(text.begin(), text.end(), option), end;
       it != end; ++it) {
    out.insert(it->str());
  }
  return out;
}

// HelpOptions are the long options `dumpcrypt COMMAND... --help` lists,
// --help aside.
std::set<std::string> HelpOptions(const std::vector<std::string>& command) {
  std::vector<std::string> argv = {ToolPath("dumpcrypt")};
  argv.insert(argv.end(), command.begin(), command.end());
  argv.push_back("--help");
  const ToolResult r = RunTool(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "-") ||
        !absl::StartsWith(line, " ")) {
      continue;
    }
    const std::vector<std::string> words =
        absl::StrSplit(absl::StripLeadingAsciiWhitespace(line), ' ');
    for (absl::string_view name : absl::StrSplit(words[0], ',')) {
      if (absl::StartsWith(name, "--") && name != "--help") {
        out.insert(std::string(name));
      }
    }
  }
  return out;
}

struct Section {
  std::string title;  // plain text
  std::string body;   // plain text
};

std::vector<Section> Sections(const std::string& page) {
  std::vector<Section> out;
  for (absl::string_view line : absl::StrSplit(ReadText(page), '\n')) {
    if (absl::ConsumePrefix(&line, ".SS ")) {
      out.push_back({Plain(line), ""});
    } else if (absl::StartsWith(line, ".SH")) {
      out.push_back({"", ""});
    } else if (!out.empty()) {
      absl::StrAppend(&out.back().body, Plain(line), "\n");
    }
  }
  return out;
}

TEST(ManTest, DumpcryptDocumentsEachCommandsOptions) {
  const std::vector<Section> sections = Sections(kMan + "dumpcrypt.1");
  std::set<std::string> key_sources;
  for (const Section& s : sections) {
    if (s.title == "Key sources") key_sources = LongOptionsIn(s.body);
  }
  ASSERT_THAT(key_sources, ::testing::Contains("--keystore"));
  std::set<std::string> documented_commands;
  for (const Section& s : sections) {
    if (s.title.empty() || s.title == "Key sources") continue;
    const std::vector<std::string> words = absl::StrSplit(s.title, ' ');
    std::vector<std::vector<std::string>> commands = {{words[0]}};
    if (words.size() > 1 && absl::StrContains(words[1], '|') &&
        !absl::StrContains(words[1], '[') && !absl::StartsWith(words[1], "-")) {
      commands.clear();
      for (absl::string_view sub : absl::StrSplit(words[1], '|')) {
        commands.push_back({words[0], std::string(sub)});
      }
    }
    std::set<std::string> documented = LongOptionsIn(s.title + "\n" + s.body);
    if (absl::StrContains(s.title, "[KEY SOURCES]")) {
      documented.insert(key_sources.begin(), key_sources.end());
    }
    std::set<std::string> listed;
    for (const auto& command : commands) {
      documented_commands.insert(absl::StrJoin(command, " "));
      const std::set<std::string> options = HelpOptions(command);
      listed.insert(options.begin(), options.end());
    }
    EXPECT_EQ(documented, listed) << s.title;
  }
  // Every command of `dumpcrypt --help` has its section.
  const ToolResult r = RunTool({ToolPath("dumpcrypt"), "--help"});
  bool in_subcommands = false;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (line == "Subcommands:") in_subcommands = true;
    if (!in_subcommands || !absl::StartsWith(line, "  ") ||
        absl::StartsWith(line, "   ")) {
      continue;
    }
    const std::string name = std::vector<std::string>(
        absl::StrSplit(absl::StripLeadingAsciiWhitespace(line), ' '))[0];
    bool found = false;
    for (const std::string& c : documented_commands) {
      found |= c == name || absl::StartsWith(c, name + " ");
    }
    EXPECT_TRUE(found) << "dumpcrypt(1) has no section for " << name;
  }
}

TEST(ManTest, DumpcryptfsDocumentsEachMountOption) {
  const ToolResult r = RunTool({ToolPath("dumpcryptfs"), "--help"});
  std::set<std::string> listed;
  const std::regex help_option("^    -o ([a-z_]+)");
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (line == "libfuse options:") break;
    std::smatch m;
    const std::string l(line);
    if (std::regex_search(l, m, help_option)) listed.insert(m[1]);
  }
  ASSERT_THAT(listed, ::testing::Contains("keystore"));
  std::set<std::string> documented;
  bool in_options = false;
  const std::regex man_option("^\\.BI? ([a-z_]+)(=| |$)");
  for (absl::string_view line :
       absl::StrSplit(ReadText(kMan + "dumpcryptfs.8"), '\n')) {
    if (absl::StartsWith(line, ".SH")) in_options = line == ".SH OPTIONS";
    std::smatch m;
    const std::string l(line);
    if (in_options && std::regex_search(l, m, man_option)) {
      documented.insert(m[1]);
    }
  }
  EXPECT_EQ(documented, listed);
}

}  // namespace
}  // namespace dumpcrypt::testing
