// The man pages of dist/man document exactly the options the tools' --help
// lists: for dumpcrypt(1) per command (a section titled "seal [KEY
// SOURCES] ..." also documents the key sources of its own section), for
// dumpcryptfs(8) every -o option of its own, for dumpcrypt.toml(5) every
// key against the TOML readers.
#include <map>
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
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

// TomlKeys are the keys a section of dumpcrypt.toml(5) documents: the bold
// words of each .TP entry's first line, as "table.key" inside the .RS block
// that follows a table's entry ("[host_key]", "[[rule]]").
std::vector<std::string> TomlKeys(const std::string& section) {
  std::vector<std::string> keys;
  std::string table, current, pending;
  bool in_section = false, after_tp = false;
  for (absl::string_view line :
       absl::StrSplit(ReadText(kMan + "dumpcrypt.toml.5"), '\n')) {
    if (absl::StartsWith(line, ".SH")) in_section = line == ".SH " + section;
    if (!in_section) continue;
    if (line == ".RS") table = pending;
    if (line == ".RE") table.clear();
    if (line == ".TP") {
      after_tp = true;
      continue;
    }
    if (!after_tp) continue;
    after_tp = false;
    if (!absl::ConsumePrefix(&line, ".BR ") &&
        !absl::ConsumePrefix(&line, ".B ")) {
      continue;
    }
    // Bold words are the unquoted ones.
    std::vector<std::string> parts = absl::StrSplit(line, '"');
    for (size_t i = 0; i < parts.size(); i += 2) {
      for (absl::string_view word :
           absl::StrSplit(parts[i], ' ', absl::SkipEmpty())) {
        std::string w(word);
        absl::StrReplaceAll({{"\\", ""}}, &w);
        if (absl::StartsWith(w, "[")) {
          pending = w;
          continue;
        }
        keys.push_back(table.empty() ? w : table + "." + w);
      }
    }
  }
  return keys;
}

// TomlError is what `dumpcrypt` says of a config holding `key` = 1, the rest
// of it valid: `key` is "name" or "[table].name" (each table written once,
// each key once, so that no error but the key's own can come first).
std::string TomlError(bool kms, const std::string& key) {
  const size_t dot = key.find("].");
  const std::string table =
      dot == std::string::npos ? "" : key.substr(0, dot + 1);
  const std::string name = dot == std::string::npos ? key : key.substr(dot + 2);
  std::map<std::string, std::map<std::string, std::string>> tables;
  if (!kms) {
    tables[""] = {{"folder", "\"f\""}};
    tables["[host_key]"] = {{"provider", "\"local\""}, {"key_id", "\"h\""}};
    tables["[[rule]]"] = {{"key_id", "\"r\""}};
  }
  tables[table][name].assign(1, '1');  // key = 1
  std::string text;
  for (const auto& [header, fields] : tables) {  // "" sorts first
    if (!header.empty()) absl::StrAppend(&text, header, "\n");
    for (const auto& [k, v] : fields) absl::StrAppend(&text, k, " = ", v, "\n");
  }
  TempDir dir;
  WriteText(dir.File("c.toml"), text);
  const ToolResult r = kms ? RunTool({ToolPath("dumpcrypt"), "keys", "--kms",
                                      dir.File("c.toml"), dir.path()})
                           : RunTool({ToolPath("dumpcrypt"), "list", "--config",
                                      dir.File("c.toml")});
  return r.err;
}

// dumpcrypt.toml(5) names no key its readers do not know, and every key of
// the host example (which HostConfigTest loads) is in it.
TEST(ManTest, TheTomlPageNamesTheKeysTheReadersKnow) {
  const std::vector<std::string> kms = TomlKeys("KMS CONFIGURATION");
  const std::vector<std::string> host = TomlKeys("HOST POLICY");
  ASSERT_THAT(kms, ::testing::Contains("[[provider]].servers"));
  ASSERT_THAT(host, ::testing::Contains("[[rule]].cgroup"));
  ASSERT_THAT(TomlError(false, "bogus"), HasSubstr("unknown key"));
  ASSERT_THAT(TomlError(true, "[[provider]].bogus"), HasSubstr("unknown key"));
  for (const std::string& key : kms) {
    EXPECT_THAT(TomlError(true, key), Not(HasSubstr("unknown key"))) << key;
  }
  for (const std::string& key : host) {
    EXPECT_THAT(TomlError(false, key), Not(HasSubstr("unknown key"))) << key;
  }
  std::string table;
  for (absl::string_view line :
       absl::StrSplit(ReadText(std::string(DUMPCRYPT_SOURCE_DIR) +
                               "/docs/host.toml.example"),
                      '\n')) {
    if (absl::StartsWith(line, "[")) {
      table = std::string(line.substr(0, line.find(']') + 1));
      if (absl::StartsWith(line, "[[")) table += "]";
      continue;
    }
    const size_t eq = line.find(" =");
    if (line.empty() || line[0] == '#' || eq == absl::string_view::npos)
      continue;
    const std::string key(line.substr(0, eq));
    EXPECT_THAT(host,
                ::testing::Contains(table.empty() ? key : table + "." + key));
  }
}

}  // namespace
}  // namespace dumpcrypt::testing
