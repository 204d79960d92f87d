#include "tools/host_config.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/key_slot.h"
#include "kms/kernel_key_cache.h"
#include "kms/kms_config.h"
#include "kms/local_keystore.h"
#include "kms/toml_file.h"

namespace dumpcrypt::cli {
namespace {

bool Match(const std::string& pattern, const std::string& value) {
  return pattern.empty() || ::fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
}

// Fields reads one TOML table: each key must be one the caller asks for.
class Fields {
 public:
  Fields(const std::string& path, const toml::table& table)
      : path_(path), table_(table) {}

  absl::Status Error(const toml::node& node, absl::string_view key,
                     absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ":", node.source().begin.line, ": ", key, ": ", what));
  }
  // Each calls `read` with the node of each key in `handlers`; any other
  // key is an error.
  using Handler = std::function<absl::Status(const toml::node&)>;
  absl::Status Each(const std::map<std::string, Handler>& handlers) const {
    for (const auto& [key, node] : table_) {
      auto h = handlers.find(std::string(key.str()));
      if (h == handlers.end())
        return Error(node, std::string(key.str()), "unknown key");
      DC_RETURN_IF_ERROR(h->second(node));
    }
    return absl::OkStatus();
  }
  Handler Text(const std::string& key, std::string* out) const {
    return [this, key, out](const toml::node& n) -> absl::Status {
      if (!n.is_string()) return Error(n, key, "must be a string");
      *out = *n.value<std::string>();
      return absl::OkStatus();
    };
  }
  Handler Path(const std::string& key, std::string* out) const {
    return [this, key, out](const toml::node& n) -> absl::Status {
      DC_RETURN_IF_ERROR(Text(key, out)(n));
      if (!out->empty() && (*out)[0] != '/') *out = DirName(path_) + "/" + *out;
      return absl::OkStatus();
    };
  }
  Handler Size(const std::string& key, uint64_t* out) const {
    return [this, key, out](const toml::node& n) -> absl::Status {
      absl::StatusOr<uint64_t> v =
          n.is_integer() && *n.value<int64_t>() >= 0
              ? absl::StatusOr<uint64_t>(*n.value<int64_t>())
          : n.is_string() ? ParseByteSize(*n.value<std::string>())
                          : absl::InvalidArgumentError("");
      if (!v.ok()) {
        return Error(n, key, "must be a size: bytes, or \"512M\", \"10G\"");
      }
      *out = *v;
      return absl::OkStatus();
    };
  }
  Handler Count(const std::string& key, uint32_t* out) const {
    return [this, key, out](const toml::node& n) -> absl::Status {
      if (!n.is_integer() || *n.value<int64_t>() < 0 ||
          *n.value<int64_t>() > UINT32_MAX) {
        return Error(n, key, "must be a whole number");
      }
      *out = static_cast<uint32_t>(*n.value<int64_t>());
      return absl::OkStatus();
    };
  }
  Handler Duration(const std::string& key, absl::Duration unit,
                   absl::Duration* out) const {
    return [this, key, unit, out](const toml::node& n) -> absl::Status {
      if (!n.is_integer() || *n.value<int64_t>() <= 0) {
        return Error(n, key, "must be a positive whole number");
      }
      *out = unit * *n.value<int64_t>();
      return absl::OkStatus();
    };
  }
  Handler Choice(const std::string& key, const std::vector<std::string>& names,
                 int* out) const {
    return [this, key, names, out](const toml::node& n) -> absl::Status {
      auto it = n.is_string() ? std::find(names.begin(), names.end(),
                                          *n.value<std::string>())
                              : names.end();
      if (it == names.end()) {
        return Error(n, key,
                     absl::StrCat("must be one of \"",
                                  absl::StrJoin(names, "\", \""), "\""));
      }
      *out = static_cast<int>(it - names.begin());
      return absl::OkStatus();
    };
  }

 private:
  const std::string& path_;
  const toml::table& table_;
};

absl::Status ReadRule(const std::string& path, const toml::node& node,
                      const KeyRef& host_key, KeyRule* rule) {
  Fields f(path, *node.as_table());
  std::string type = "userworld";
  rule->key.provider = host_key.provider;
  DC_RETURN_IF_ERROR(
      f.Each({{"name", f.Text("name", &rule->name)},
              {"cgroup", f.Text("cgroup", &rule->cgroup)},
              {"unit", f.Text("unit", &rule->unit)},
              {"executable", f.Text("executable", &rule->executable)},
              {"provider", f.Text("provider", &rule->key.provider)},
              {"key_id", f.Text("key_id", &rule->key.key_id)},
              {"type", f.Text("type", &type)},
              {"vm", f.Text("vm", &rule->vm)}}));
  const std::string name =
      rule->name.empty() ? "[[rule]]" : absl::StrCat("rule '", rule->name, "'");
  auto t = ParseDumpType(type);
  if (!t.ok()) return f.Error(node, name, t.status().message());
  rule->type = *t;
  if (rule->key.key_id.empty()) return f.Error(node, name, "needs key_id");
  absl::Status valid = ValidateKeyRef(rule->key);
  if (!valid.ok()) return f.Error(node, name, valid.message());
  if (rule->name.empty()) rule->name = rule->key.key_id;
  return absl::OkStatus();
}

}  // namespace

bool KeyRule::Matches(const CrashedProcess& p) const {
  return Match(cgroup, p.cgroup) && Match(unit, p.unit) &&
         Match(executable, p.executable);
}

KeyRule HostConfig::Choose(const CrashedProcess& p) const {
  if (mode == KeyMode::kPerVm) {
    for (const KeyRule& rule : rules) {
      if (rule.Matches(p)) return rule;
    }
  }
  KeyRule host;
  host.name = "host-key";
  host.key = host_key;
  return host;
}

std::vector<KeyRef> HostConfig::Keys() const {
  std::vector<KeyRef> keys = {host_key};
  if (mode == KeyMode::kHostKey) return keys;
  for (const KeyRule& rule : rules) {
    if (std::find(keys.begin(), keys.end(), rule.key) == keys.end()) {
      keys.push_back(rule.key);
    }
  }
  return keys;
}

absl::StatusOr<uint64_t> ParseByteSize(const std::string& text) {
  std::string digits = text;
  uint64_t unit = 1;
  if (!digits.empty()) {
    const char suffix = absl::ascii_toupper(digits.back());
    const std::string units = "KMGT";
    const size_t i = units.find(suffix);
    if (i != std::string::npos) {
      unit = uint64_t{1} << (10 * (i + 1));
      digits.pop_back();
    }
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n > UINT64_MAX / unit) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a size (bytes, or 512M, 10G)"));
  }
  return n * unit;
}

absl::StatusOr<HostConfig> LoadHostConfig(const std::string& path) {
  DC_ASSIGN_OR_RETURN(const toml::table root, ReadTomlFile(path));
  HostConfig c;
  c.path = path;
  c.keyring = KernelKeyCache::kDefaultKeyring;
  c.events = "/var/log/dumpcrypt/events.jsonl";
  int mode = 0, on_no_key = 0;
  const toml::node* host_key = nullptr;
  const toml::node* rules = nullptr;
  Fields f(path, root);
  DC_RETURN_IF_ERROR(f.Each({
      {"folder", f.Path("folder", &c.folder)},
      {"events", f.Path("events", &c.events)},
      {"keystore", f.Path("keystore", &c.keystore)},
      {"kms", f.Path("kms", &c.kms)},
      {"keyring", f.Text("keyring", &c.keyring)},
      {"kms_deadline_ms",
       f.Duration("kms_deadline_ms", absl::Milliseconds(1), &c.kms_deadline)},
      {"key_lifetime_s",
       f.Duration("key_lifetime_s", absl::Seconds(1), &c.key_lifetime)},
      {"mode", f.Choice("mode", {"per-vm", "host-key"}, &mode)},
      {"on_no_key", f.Choice("on_no_key", {"drop", "recipient"}, &on_no_key)},
      {"recipients",
       [&](const toml::node& n) -> absl::Status {
         if (!n.is_array()) return f.Error(n, "recipients", "must be a list");
         for (const toml::node& r : *n.as_array()) {
           std::string p;
           DC_RETURN_IF_ERROR(f.Path("recipients", &p)(r));
           c.recipients.push_back(p);
         }
         return absl::OkStatus();
       }},
      {"max_use", f.Size("max_use", &c.max_use)},
      {"keep_free", f.Size("keep_free", &c.keep_free)},
      {"max_size", f.Size("max_size", &c.max_size)},
      {"rate_limit", f.Count("rate_limit", &c.rate_limit)},
      {"rate_interval_s",
       f.Duration("rate_interval_s", absl::Seconds(1), &c.rate_interval)},
      {"host_key",
       [&](const toml::node& n) {
         host_key = &n;
         return absl::OkStatus();
       }},
      {"rule",
       [&](const toml::node& n) {
         rules = &n;
         return absl::OkStatus();
       }},
  }));
  c.mode = static_cast<KeyMode>(mode);
  c.on_no_key = static_cast<NoKeyAction>(on_no_key);
  if (c.folder.empty()) return absl::InvalidArgumentError(path + ": no folder");
  if (host_key == nullptr || !host_key->is_table()) {
    return absl::InvalidArgumentError(
        path + ": no [host_key] table (provider, key_id)");
  }
  Fields hk(path, *host_key->as_table());
  DC_RETURN_IF_ERROR(
      hk.Each({{"provider", hk.Text("provider", &c.host_key.provider)},
               {"key_id", hk.Text("key_id", &c.host_key.key_id)}}));
  absl::Status valid = ValidateKeyRef(c.host_key);
  if (!valid.ok()) return hk.Error(*host_key, "host_key", valid.message());
  if (rules != nullptr) {
    if (!rules->is_array_of_tables()) {
      return f.Error(*rules, "rule", "must be [[rule]] tables");
    }
    for (const toml::node& r : *rules->as_array()) {
      KeyRule rule;
      DC_RETURN_IF_ERROR(ReadRule(path, r, c.host_key, &rule));
      c.rules.push_back(std::move(rule));
    }
  }
  if (c.on_no_key == NoKeyAction::kRecipient && c.recipients.empty()) {
    return absl::InvalidArgumentError(
        path + ": on_no_key = \"recipient\" needs recipients = [\"KEY.pub\"]");
  }
  if (c.keystore.empty() && c.kms.empty() && c.keyring.empty() &&
      c.recipients.empty()) {
    return absl::InvalidArgumentError(
        path + ": no key source: give keyring, kms, keystore or recipients");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<KeyResolver>> OpenKeySources(
    const HostConfig& config, bool use_keyring,
    std::vector<std::string>* notes) {
  std::vector<std::unique_ptr<KeyResolver>> sources;
  auto note = [notes](const absl::Status& s) {
    notes->emplace_back(s.message());
  };
  if (use_keyring && !config.keyring.empty()) {
    auto cache = KernelKeyCache::Open(config.keyring, /*create=*/false);
    if (cache.ok()) {
      sources.push_back(std::move(cache).value());
    } else {
      note(cache.status());
    }
  }
  if (!config.keystore.empty()) {
    auto store = LocalKeyStore::Open(config.keystore);
    if (store.ok()) {
      sources.push_back(std::move(store).value());
    } else {
      note(Prefix(store.status(), config.keystore));
    }
  }
  if (!config.kms.empty()) {
    absl::StatusOr<KmsConfig> kms = LoadKmsConfig(config.kms);
    if (kms.ok()) {
      for (ProviderConfig& p : kms->providers) {
        p.connect_timeout = std::min(p.connect_timeout, config.kms_deadline);
        p.io_timeout = std::min(p.io_timeout, config.kms_deadline);
      }
      auto resolver = KmsResolver::Create(*kms, [](const std::string& w) {
        std::fprintf(stderr, "dumpcrypt: warning: %s\n", w.c_str());
      });
      if (resolver.ok()) {
        sources.push_back(std::move(resolver).value());
      } else {
        note(resolver.status());
      }
    } else {
      note(kms.status());
    }
  }
  if (sources.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no key source could be opened",
                     notes->empty() ? "" : ": " + absl::StrJoin(*notes, "; ")));
  }
  if (sources.size() == 1) return std::move(sources.front());
  return std::unique_ptr<KeyResolver>(new ChainResolver(std::move(sources)));
}

}  // namespace dumpcrypt::cli
