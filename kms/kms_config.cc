#include "kms/kms_config.h"

#include <map>

#include "absl/algorithm/container.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "kms/toml_file.h"

namespace dumpcrypt {
namespace {

absl::Status Error(const std::string& path, const toml::source_region& where,
                   const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ":", where.begin.line, ": ", key, ": ", what));
}

}  // namespace

absl::StatusOr<KmsConfig> LoadKmsConfig(const std::string& path) {
  DC_ASSIGN_OR_RETURN(const toml::table root, ReadTomlFile(path));
  KmsConfig config;
  const std::string base = DirName(path);
  auto resolve_path = [&](const std::string& p) {
    return p.empty() || p[0] == '/' ? p : base + "/" + p;
  };
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k != "default_provider" && k != "provider") {
      return Error(path, node.source(), k, "unknown key");
    }
  }
  if (const toml::node* d = root.get("default_provider")) {
    if (!d->is_string())
      return Error(path, d->source(), "default_provider", "must be a string");
    config.default_provider = *d->value<std::string>();
  }
  const toml::node* list = root.get("provider");
  if (list == nullptr || !list->is_array_of_tables() ||
      list->as_array()->empty()) {
    return absl::InvalidArgumentError(path + ": no [[provider]] table");
  }
  std::map<std::string, int> first_lines;  // provider name -> its line
  for (const toml::node& entry : *list->as_array()) {
    const toml::table& t = *entry.as_table();
    ProviderConfig p;
    for (const auto& entry_kv : t) {
      const std::string k(entry_kv.first.str());
      const toml::node& node = entry_kv.second;
      auto text = [&](std::string* out) -> absl::Status {
        if (!node.is_string())
          return Error(path, node.source(), k, "must be a string");
        *out = *node.value<std::string>();
        return absl::OkStatus();
      };
      auto millis = [&](absl::Duration* out) -> absl::Status {
        if (!node.is_integer() || *node.value<int64_t>() <= 0) {
          return Error(path, node.source(), k,
                       "must be a positive integer (milliseconds)");
        }
        *out = absl::Milliseconds(*node.value<int64_t>());
        return absl::OkStatus();
      };
      if (k == "name") {
        DC_RETURN_IF_ERROR(text(&p.name));
      } else if (k == "ca_file") {
        DC_RETURN_IF_ERROR(text(&p.ca_file));
      } else if (k == "cert_file") {
        DC_RETURN_IF_ERROR(text(&p.cert_file));
      } else if (k == "key_file") {
        DC_RETURN_IF_ERROR(text(&p.key_file));
      } else if (k == "connect_timeout_ms") {
        DC_RETURN_IF_ERROR(millis(&p.connect_timeout));
      } else if (k == "io_timeout_ms") {
        DC_RETURN_IF_ERROR(millis(&p.io_timeout));
      } else if (k == "retry_hung_after_ms") {
        DC_RETURN_IF_ERROR(millis(&p.retry_hung_after));
      } else if (k == "servers") {
        if (!node.is_array() || node.as_array()->empty()) {
          return Error(path, node.source(), k,
                       "must be a list of \"host:port\"");
        }
        for (const toml::node& s : *node.as_array()) {
          std::optional<std::string> v = s.value<std::string>();
          const size_t colon = v ? v->rfind(':') : std::string::npos;
          uint32_t port = 0;
          if (colon == std::string::npos || colon == 0 ||
              !absl::SimpleAtoi(v->substr(colon + 1), &port) || port == 0 ||
              port > 65535) {
            return Error(path, s.source(), k,
                         "each server must be \"host:port\"");
          }
          std::string host = v->substr(0, colon);
          if (host.size() > 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
          p.servers.push_back({host, static_cast<uint16_t>(port)});
        }
      } else {
        return Error(path, node.source(), k, "unknown key");
      }
    }
    for (auto [k, v] : {std::pair<const char*, std::string*>{"name", &p.name},
                        {"ca_file", &p.ca_file},
                        {"cert_file", &p.cert_file},
                        {"key_file", &p.key_file}}) {
      if (v->empty()) return Error(path, entry.source(), k, "missing");
    }
    if (p.servers.empty())
      return Error(path, entry.source(), "servers", "missing");
    const auto [first, added] =
        first_lines.emplace(p.name, entry.source().begin.line);
    if (!added) {
      return Error(
          path, entry.source(), "name",
          absl::StrCat("provider '", p.name, "' is already defined at line ",
                       first->second, " (list all of its servers there)"));
    }
    p.ca_file = resolve_path(p.ca_file);
    p.cert_file = resolve_path(p.cert_file);
    p.key_file = resolve_path(p.key_file);
    config.providers.push_back(std::move(p));
  }
  if (config.default_provider.empty())
    config.default_provider = config.providers.front().name;
  return config;
}

absl::StatusOr<std::unique_ptr<KmsResolver>> KmsResolver::Create(
    const KmsConfig& config, Warn warn) {
  auto resolver = std::make_unique<KmsResolver>();
  std::vector<std::string> names;
  for (const ProviderConfig& p : config.providers) {
    DC_ASSIGN_OR_RETURN(auto provider, KmipProvider::Create(p, warn));
    names.push_back(p.name);
    resolver->providers_[p.name] = std::move(provider);
  }
  auto it = resolver->providers_.find(config.default_provider);
  if (it == resolver->providers_.end()) {
    return absl::InvalidArgumentError(
        "default_provider '" + config.default_provider + "' is not configured");
  }
  resolver->default_ = it->second.get();
  resolver->warn_ = std::move(warn);
  resolver->description_ = "KMIP key providers " + absl::StrJoin(names, ", ");
  return resolver;
}

KmipProvider* KmsResolver::Route(const KeyRef& ref) {
  auto it = providers_.find(ref.provider);
  if (it != providers_.end()) return it->second.get();
  if (warn_) {
    warn_(absl::StrCat("key provider '", ref.provider, "' of keyID '",
                       ref.key_id,
                       "' is not configured; asking the default provider '",
                       default_->name(), "'"));
  }
  return default_;
}

absl::StatusOr<SecretBytes> KmsResolver::Resolve(const KeyRef& ref) {
  return Route(ref)->GetKey(ref.key_id);
}

absl::StatusOr<SecretBytes> KmsResolver::ResolveForSealing(const KeyRef& ref) {
  return Route(ref)->GetKeyForSealing(ref.key_id);
}

absl::StatusOr<KmipProvider*> KmsResolver::Provider(const std::string& name) {
  if (name.empty()) return default_;
  auto it = providers_.find(name);
  if (it == providers_.end())
    return absl::NotFoundError("key provider '" + name + "' is not configured");
  return it->second.get();
}

void KmsResolver::CloseIdle() {
  for (auto& [name, provider] : providers_) provider->CloseIdle();
}

absl::StatusOr<SecretBytes> ChainResolver::First(
    const std::function<absl::StatusOr<SecretBytes>(KeyResolver&)>& ask) {
  absl::Status first;
  bool unreachable = false;
  std::vector<std::string> causes;
  for (auto& source : sources_) {
    absl::StatusOr<SecretBytes> key = ask(*source);
    if (key.ok()) return key;
    if (first.ok() ||
        (absl::IsNotFound(first) && !absl::IsNotFound(key.status())))
      first = key.status();
    unreachable |= absl::IsUnavailable(key.status()) ||
                   absl::IsDeadlineExceeded(key.status());
    std::string cause(key.status().message());
    if (!absl::c_linear_search(causes, cause))
      causes.push_back(std::move(cause));
  }
  // Every source's cause; unreachable if one was, since the key may be
  // there.
  const std::string message = absl::StrJoin(causes, "; ");
  if (unreachable) return absl::UnavailableError(message);
  return absl::Status(first.code(), message);
}

absl::StatusOr<SecretBytes> ChainResolver::Resolve(const KeyRef& ref) {
  return First([&](KeyResolver& source) { return source.Resolve(ref); });
}

absl::StatusOr<SecretBytes> ChainResolver::ResolveForSealing(
    const KeyRef& ref) {
  return First(
      [&](KeyResolver& source) { return source.ResolveForSealing(ref); });
}

absl::StatusOr<SecretBytes> ChainResolver::SlotKek(const KeySlot& slot) {
  return First([&](KeyResolver& source) { return source.SlotKek(slot); });
}

std::string ChainResolver::Describe() const {
  std::vector<std::string> parts;
  for (const auto& s : sources_) parts.push_back(s->Describe());
  return absl::StrJoin(parts, ", then ");
}

}  // namespace dumpcrypt
