#include "kms/kmip_provider.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace dumpcrypt {

KmipProvider::KmipProvider(ProviderConfig config, SslCtxPtr ctx, Warn warn)
    : config_(std::move(config)), ctx_(std::move(ctx)), warn_(std::move(warn)) {
  absl::MutexLock lock(&mu_);
  idle_.resize(config_.servers.size());
  hung_.resize(config_.servers.size());
}

absl::StatusOr<std::unique_ptr<KmipProvider>> KmipProvider::Create(
    ProviderConfig config, Warn warn) {
  if (config.servers.empty()) {
    return absl::InvalidArgumentError("key provider '" + config.name +
                                      "' has no servers");
  }
  auto ctx =
      MakeKmipTlsContext(config.ca_file, config.cert_file, config.key_file);
  if (!ctx.ok())
    return Prefix(ctx.status(), "key provider '" + config.name + "'");
  return std::unique_ptr<KmipProvider>(new KmipProvider(
      std::move(config), std::move(ctx).value(), std::move(warn)));
}

absl::Status KmipProvider::Named(const absl::Status& status,
                                 const std::string& what) const {
  const std::string provider =
      absl::StrCat("key provider '", config_.name, "'");
  return Prefix(status,
                what.empty() ? provider : absl::StrCat(provider, ": ", what));
}

void KmipProvider::CloseIdle() {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (auto& conns : idle_) {
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [&](const auto& c) {
                                 return now - c->last_used() >
                                        config_.idle_close;
                               }),
                conns.end());
  }
}

absl::StatusOr<Ttlv> KmipProvider::CallServer(size_t index,
                                              const Ttlv& request) {
  const KmipServer& server = config_.servers[index];
  std::unique_ptr<KmipConnection> conn;
  {
    absl::MutexLock lock(&mu_);
    auto& conns = idle_[index];
    while (!conns.empty() && conn == nullptr) {
      conn = std::move(conns.back());
      conns.pop_back();
      if (absl::Now() - conn->last_used() > config_.idle_close) conn.reset();
    }
  }
  const bool reused = conn != nullptr;
  if (conn == nullptr) {
    auto made =
        KmipConnection::Connect(ctx_.get(), server.host, server.port,
                                config_.connect_timeout, config_.io_timeout);
    if (!made.ok()) return made.status();
    conn = std::move(made).value();
  }
  absl::StatusOr<Ttlv> reply = conn->Call(request);
  if (!reply.ok() && reused && absl::IsUnavailable(reply.status())) {
    // The server may have closed an idle connection: one fresh try.
    auto made =
        KmipConnection::Connect(ctx_.get(), server.host, server.port,
                                config_.connect_timeout, config_.io_timeout);
    if (!made.ok()) return made.status();
    conn = std::move(made).value();
    reply = conn->Call(request);
  }
  if (reply.ok()) {
    absl::MutexLock lock(&mu_);
    idle_[index].push_back(std::move(conn));
  }
  return reply;
}

std::string KmipProvider::Skipped(size_t index) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  const Hung& hung = hung_[index];
  if (now >= hung.until) return "";
  return absl::StrCat(
      "not asked for ",
      absl::FormatDuration(absl::Ceil(hung.until - now, absl::Seconds(1))),
      " more, it timed out (", hung.why, ")");
}

absl::StatusOr<std::vector<kmip::Reply>> KmipProvider::CallBatch(
    std::vector<kmip::Item> items, const std::string& what,
    bool ask_all_if_not_found) {
  std::vector<kmip::Operation> operations;
  for (const kmip::Item& item : items) operations.push_back(item.operation);
  Ttlv request = kmip::Request(std::move(items));
  absl::Cleanup cleanse_request = [&] { request.Cleanse(); };
  const size_t n = config_.servers.size();
  const size_t first = last_good_.load() % n;
  std::vector<std::string> failures;
  std::optional<kmip::Reply> not_found;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (first + k) % n;
    const std::string server = config_.servers[i].ToString();
    if (std::string skipped = Skipped(i); !skipped.empty()) {
      failures.push_back(absl::StrCat(server, ": ", skipped));
      continue;
    }
    absl::StatusOr<Ttlv> message = CallServer(i, request);
    if (absl::IsDeadlineExceeded(message.status())) {
      absl::MutexLock lock(&mu_);
      hung_[i] = {absl::Now() + config_.retry_hung_after,
                  std::string(message.status().message())};
    }
    if (!message.ok()) {
      failures.push_back(
          absl::StrCat(server, ": ", message.status().message()));
      continue;
    }
    absl::StatusOr<std::vector<kmip::Reply>> replies =
        kmip::ParseResponses(*message, operations);
    message->Cleanse();
    if (!replies.ok()) {
      failures.push_back(
          absl::StrCat(server, ": ", replies.status().message()));
      continue;
    }
    last_good_ = i;
    auto failed = std::find_if(replies->begin(), replies->end(),
                               [](const kmip::Reply& r) { return r.status; });
    if (failed == replies->end()) return replies;
    for (kmip::Reply& reply : *replies) reply.payload.Cleanse();
    if (failed->reason == kmip::kItemNotFound && ask_all_if_not_found) {
      not_found = std::move(*failed);
      failures.push_back(absl::StrCat(server, ": item not found"));
      continue;
    }
    absl::Status status = kmip::ReplyStatus(*failed, what);
    if (absl::IsPermissionDenied(status)) {
      return Named(absl::PermissionDeniedError(absl::StrCat(
                       server, " refused client certificate '",
                       ClientSubject(ctx_.get()), "': ", status.message())),
                   "");
    }
    return Named(status, server);
  }
  if (not_found.has_value()) {
    return Named(
        absl::NotFoundError(absl::StrCat(what, ": not found on any server (",
                                         absl::StrJoin(failures, "; "), ")")),
        "");
  }
  return Named(
      absl::UnavailableError(absl::StrCat("no server answered ", what, " (",
                                          absl::StrJoin(failures, "; "), ")")),
      "");
}

absl::StatusOr<kmip::Reply> KmipProvider::Call(kmip::Operation op,
                                               std::vector<Ttlv> payload,
                                               const std::string& what,
                                               bool ask_all_if_not_found) {
  std::vector<kmip::Item> items;
  items.push_back({op, std::move(payload)});
  DC_ASSIGN_OR_RETURN(std::vector<kmip::Reply> replies,
                      CallBatch(std::move(items), what, ask_all_if_not_found));
  return std::move(replies.front());
}

absl::StatusOr<kmip::KeyState> KmipProvider::StateOf(
    const kmip::Reply& reply, const std::string& id) const {
  for (const Ttlv& attr : reply.payload.children()) {
    const Ttlv* name = attr.Find(kmip::kAttributeName, TtlvType::kTextString);
    const Ttlv* value =
        attr.Find(kmip::kAttributeValue, TtlvType::kEnumeration);
    if (attr.tag() == kmip::kAttribute && name != nullptr &&
        name->bytes() == "State" && value != nullptr) {
      return static_cast<kmip::KeyState>(value->number());
    }
  }
  return Named(absl::FailedPreconditionError("no State attribute for keyID '" +
                                             id + "'"),
               "");
}

absl::StatusOr<kmip::KeyState> KmipProvider::GetState(const std::string& id) {
  DC_ASSIGN_OR_RETURN(kmip::Reply reply,
                      Call(kmip::kGetAttributes, kmip::GetStatePayload(id),
                           "GetAttributes(State) of keyID '" + id + "'", true));
  return StateOf(reply, id);
}

absl::StatusOr<SecretBytes> KmipProvider::FetchKey(const std::string& id,
                                                   bool for_sealing) {
  // State and key in one request: one round trip per key.
  std::vector<kmip::Item> items;
  items.push_back({kmip::kGetAttributes, kmip::GetStatePayload(id)});
  items.push_back({kmip::kGet, kmip::GetPayload(id)});
  DC_ASSIGN_OR_RETURN(
      std::vector<kmip::Reply> replies,
      CallBatch(std::move(items),
                "GetAttributes(State) and Get of keyID '" + id + "'", true));
  absl::Cleanup cleanse = [&] { replies[1].payload.Cleanse(); };
  DC_ASSIGN_OR_RETURN(kmip::KeyState state, StateOf(replies[0], id));
  const std::string state_name = kmip::KeyStateName(state);
  const std::string where =
      absl::StrCat("key provider '", config_.name, "': keyID '", id, "' is ");
  if (for_sealing && state != kmip::KeyState::kActive) {
    return absl::FailedPreconditionError(where + state_name +
                                         "; only an Active key may seal");
  }
  switch (state) {
    case kmip::KeyState::kActive:
      break;
    case kmip::KeyState::kDeactivated:
    case kmip::KeyState::kCompromised:
      if (warn_) warn_(where + state_name + "; using it to decrypt only");
      break;
    default:
      return absl::FailedPreconditionError(where + state_name +
                                           "; it cannot be used");
  }
  const Ttlv* material =
      replies[1].payload.FindPath({kmip::kSymmetricKey, kmip::kKeyBlock,
                                   kmip::kKeyValue, kmip::kKeyMaterial},
                                  TtlvType::kByteString);
  if (material == nullptr || material->bytes().size() != 32) {
    return Named(
        absl::FailedPreconditionError(absl::StrCat(
            "keyID '", id,
            "' has no 32-byte raw key material (destroyed, or not AES-256)")),
        "");
  }
  return SecretBytes::CopyOf(
      {reinterpret_cast<const uint8_t*>(material->bytes().data()),
       material->bytes().size()});
}

absl::StatusOr<SecretBytes> KmipProvider::GetKey(const std::string& id) {
  return FetchKey(id, false);
}

absl::StatusOr<SecretBytes> KmipProvider::GetKeyForSealing(
    const std::string& id) {
  return FetchKey(id, true);
}

absl::StatusOr<std::string> KmipProvider::CreateKey(const std::string& name) {
  DC_ASSIGN_OR_RETURN(kmip::Reply created,
                      Call(kmip::kCreate, kmip::CreateAes256Payload(name),
                           "Create of key '" + name + "'", false));
  const Ttlv* id =
      created.payload.Find(kmip::kUniqueIdentifier, TtlvType::kTextString);
  if (id == nullptr)
    return Named(absl::InternalError("Create returned no identifier"), "");
  DC_RETURN_IF_ERROR(Call(kmip::kActivate, kmip::ActivatePayload(id->bytes()),
                          "Activate of keyID '" + id->bytes() + "'", false)
                         .status());
  return id->bytes();
}

absl::StatusOr<std::string> KmipProvider::RegisterKey(const std::string& name,
                                                      const SecretBytes& key) {
  if (key.size() != 32)
    return absl::InvalidArgumentError("a key must be 32 bytes");
  std::string material(reinterpret_cast<const char*>(key.data()), key.size());
  std::vector<Ttlv> payload = kmip::RegisterAes256Payload(name, material);
  OPENSSL_cleanse(material.data(), material.size());
  absl::StatusOr<kmip::Reply> reg =
      Call(kmip::kRegister, payload, "Register of key '" + name + "'", false);
  for (Ttlv& t : payload) t.Cleanse();
  if (!reg.ok()) return reg.status();
  const Ttlv* id =
      reg->payload.Find(kmip::kUniqueIdentifier, TtlvType::kTextString);
  if (id == nullptr)
    return Named(absl::InternalError("Register returned no identifier"), "");
  DC_RETURN_IF_ERROR(Call(kmip::kActivate, kmip::ActivatePayload(id->bytes()),
                          "Activate of keyID '" + id->bytes() + "'", false)
                         .status());
  return id->bytes();
}

absl::StatusOr<std::vector<std::string>> KmipProvider::Locate(
    const std::string& name) {
  DC_ASSIGN_OR_RETURN(kmip::Reply reply,
                      Call(kmip::kLocate, kmip::LocateByNamePayload(name),
                           "Locate of '" + name + "'", false));
  std::vector<std::string> ids;
  for (const Ttlv& t : reply.payload.children()) {
    if (t.tag() == kmip::kUniqueIdentifier && t.type() == TtlvType::kTextString)
      ids.push_back(t.bytes());
  }
  return ids;
}

}  // namespace dumpcrypt
