#include "fs/node.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "fs/log.h"
#include "fs/open_file.h"

namespace dumpcrypt {
namespace {

constexpr char kXattrPrefix[] = "user.dumpcrypt.";
constexpr absl::string_view kUnverifiedHint =
    "; or serve it unverified with -o ve_unverified=allow";

// EventOf names the audit event of a failed open of an envelope.
absl::string_view EventOf(const absl::Status& status) {
  if (absl::IsUnauthenticated(status)) return "key_missing";
  if (absl::IsUnavailable(status)) return "key_unreachable";
  if (absl::IsDataLoss(status)) return "integrity_failure";
  return "open_failed";
}

bool Covers(const DecryptGrant& grant, const std::vector<KeyRef>& refs) {
  using Scope = DecryptGrant::Scope;
  if (grant.scope == Scope::kAll) return true;
  return std::any_of(refs.begin(), refs.end(), [&](const KeyRef& ref) {
    return (grant.scope == Scope::kProvider ? ref.provider : ref.key_id) ==
           grant.name;
  });
}

}  // namespace

bool DecryptPolicy::Allows(const Caller& caller,
                           const std::vector<KeyRef>& refs) const {
  if (caller.uid == 0 || caller.uid == owner) return true;
  for (const DecryptGrant& grant : grants) {
    if (!Covers(grant, refs)) continue;
    if (!grant.group && grant.id == caller.uid) return true;
    if (grant.group && (grant.id == caller.gid ||
                        std::find(caller.groups.begin(), caller.groups.end(),
                                  grant.id) != caller.groups.end())) {
      return true;
    }
  }
  return false;
}

std::string DecryptPolicy::Describe(const std::vector<KeyRef>& refs) const {
  std::string out = "root";
  if (owner != 0) absl::StrAppend(&out, ", uid ", owner);
  for (const DecryptGrant& grant : grants) {
    if (Covers(grant, refs))
      absl::StrAppend(&out, grant.group ? ", gid " : ", uid ", grant.id);
  }
  return out;
}

void Node::Classify(int fd) {
  kind = Kind::kFile;
  ProbeOptions where;
  if (length.has_value()) where = {base, length};
  absl::StatusOr<Probed> probed = ProbeEnvelope(fd, where);
  if (!probed.ok() || probed->is_damaged()) {
    kind = Kind::kBrokenEnvelope;
    broken =
        std::string((probed.ok() ? probed->damage : probed.status()).message());
  } else if (probed->is_envelope()) {
    kind = Kind::kEnvelope;
    envelope = std::move(probed->envelope);
  }
}

absl::StatusOr<std::unique_ptr<OpenFile>> NodeServer::Open(
    const std::shared_ptr<Node>& node, UniqueFd fd,
    const Caller& caller) const {
  switch (node->kind) {
    case Node::Kind::kFile:
      return std::unique_ptr<OpenFile>(
          new OpenFile(this, node,
                       std::make_unique<PlainFileView>(
                           std::move(fd), node->base, node->length),
                       false));
    case Node::Kind::kBrokenEnvelope: {
      absl::Status status =
          absl::DataLossError(absl::StrCat(node->path, ": ", node->broken));
      LogLine(status.message());
      Audit("integrity_failure", *node, &caller, status);
      return status;
    }
    case Node::Kind::kEnvelope: {
      const std::vector<KeyRef> refs = node->envelope->key_refs();
      if (!options_.decrypt.Allows(caller, refs)) {
        absl::Status status = absl::PermissionDeniedError(
            absl::StrCat(node->path, ": uid ", caller.uid,
                         " may not decrypt through this mount (who may: ",
                         options_.decrypt.Describe(refs),
                         "; see -o decrypt_user= and -o decrypt_group=)"));
        LogLine(status.message());
        Audit("decrypt_refused", *node, &caller, status);
        return status;
      }
      return OpenEnvelope(node, std::move(fd), caller);
    }
    default:
      return absl::InvalidArgumentError(node->path + " is not a file");
  }
}

absl::StatusOr<std::unique_ptr<OpenFile>> NodeServer::OpenEnvelope(
    const std::shared_ptr<Node>& node, UniqueFd fd,
    const Caller& caller) const {
  const Envelope& envelope = *node->envelope;
  auto fail = [&](absl::string_view event, const absl::Status& status) {
    LogLine(status.message());
    Audit(event, *node, &caller, status);
    return status;
  };
  auto unverified = [&](const absl::Status& tag) {
    return fail("integrity_failure",
                absl::DataLossError(absl::StrCat(
                    node->path, ": ", tag.message(), kUnverifiedHint)));
  };
  std::optional<absl::Status> tag;
  {
    absl::MutexLock lock(&node->mu);
    tag = node->file_tag;
  }
  // A whole-file tag that failed before is not checked again on each open.
  if (tag.has_value() && !tag->ok() && !options_.ve_allow_unverified)
    return unverified(*tag);
  const OpenPolicy policy{options_.ve_contexts, !tag.has_value(), false};
  absl::StatusOr<std::unique_ptr<EnvelopeView>> view =
      envelope.Open(std::move(fd), *keys_, policy);
  if (absl::IsAborted(view.status())) return view.status();
  if (!view.ok()) {
    const absl::Status& cause = view.status();
    if (absl::IsUnauthenticated(cause) || absl::IsUnavailable(cause)) {
      absl::MutexLock lock(&node->mu);
      node->key_error = absl::StrCat(
          absl::IsUnavailable(cause) ? "unreachable: " : "missing: ",
          cause.message());
    }
    return fail(EventOf(cause), Prefix(cause, node->path));
  }
  bool size_changed = false;
  {
    absl::MutexLock lock(&node->mu);
    node->key_error.clear();
    if (!node->file_tag.has_value()) {
      node->file_tag = (*view)->file_tag_status();
      node->verified_context = (*view)->verified_context();
    }
    tag = node->file_tag;
    if (!envelope.size_exact()) {
      size_changed = !node->exact_size.has_value();
      node->exact_size = (*view)->size();
    }
  }
  if (!tag->ok() && !options_.ve_allow_unverified) return unverified(*tag);
  Audit("open", *node, &caller, absl::OkStatus());
  return std::unique_ptr<OpenFile>(
      new OpenFile(this, node, *std::move(view), size_changed));
}

bool NodeServer::OpenMayWait(const Node& node) const {
  if (node.kind != Node::Kind::kEnvelope) return false;
  const std::vector<KeyRef> refs = node.envelope->key_refs();
  return refs.empty() || !keys_->Answers(refs.front());
}

void NodeServer::ShowSize(const Node& node, struct stat& st) const {
  if (node.kind == Node::Kind::kEnvelope) {
    // Some formats know the exact size only once open; until then the most
    // it can be.
    absl::MutexLock lock(&node.mu);
    st.st_size = static_cast<off_t>(
        node.exact_size.value_or(node.envelope->shown_size()));
  } else if (node.kind == Node::Kind::kBrokenEnvelope) {
    st.st_size = 0;
  } else if (node.length.has_value()) {
    st.st_size = static_cast<off_t>(*node.length);
  } else {
    return;
  }
  st.st_blocks = (st.st_size + 511) / 512;
}

absl::StatusOr<std::string> NodeServer::GetXattr(
    const Node& node, const std::string& name) const {
  if (!absl::StartsWith(name, kXattrPrefix))
    return absl::FailedPreconditionError(name);
  const std::string key = name.substr(sizeof(kXattrPrefix) - 1);
  if (node.kind == Node::Kind::kBrokenEnvelope && key == "error")
    return node.broken;
  if (node.kind != Node::Kind::kEnvelope)
    return absl::FailedPreconditionError(name);
  if (key == "key_status") return KeyStatus(node);
  if (key == "verified" && node.envelope->has_file_tag()) {
    absl::MutexLock lock(&node.mu);
    if (!node.file_tag.has_value()) return std::string("untried");
    if (!node.verified_context.has_value()) return std::string("no");
    return absl::StrCat("yes (context ", *node.verified_context, ")");
  }
  for (const Attribute& a : node.envelope->Attributes()) {
    if (a.name == key) return a.value;
  }
  return absl::FailedPreconditionError(name);
}

std::string NodeServer::KeyStatus(const Node& node) const {
  {
    absl::MutexLock lock(&node.mu);
    if (!node.key_error.empty()) return node.key_error;
  }
  const std::vector<KeyRef> refs = node.envelope->key_refs();
  if (refs.empty()) return "password or identity slot";
  return keys_->Status(refs.front());
}

std::vector<std::string> NodeServer::ListXattr(const Node& node) const {
  std::vector<std::string> names;
  if (node.kind == Node::Kind::kBrokenEnvelope) {
    names.push_back(absl::StrCat(kXattrPrefix, "error"));
  } else if (node.kind == Node::Kind::kEnvelope) {
    for (const Attribute& a : node.envelope->Attributes())
      names.push_back(absl::StrCat(kXattrPrefix, a.name));
    names.push_back(absl::StrCat(kXattrPrefix, "key_status"));
    if (node.envelope->has_file_tag())
      names.push_back(absl::StrCat(kXattrPrefix, "verified"));
  }
  return names;
}

void NodeServer::Audit(absl::string_view event, const Node& node,
                       const Caller* caller, const absl::Status& status) const {
  if (audit_ == nullptr) return;
  AuditEvent e;
  e.event = std::string(event);
  e.path = node.path;
  if (node.envelope != nullptr) {
    const std::vector<KeyRef> refs = node.envelope->key_refs();
    if (refs.empty()) {
      e.slot = node.envelope->key_label();
    } else {
      e.key = refs.front();
    }
  }
  if (caller != nullptr) e.caller = *caller;
  e.cause = std::string(status.message());
  audit_->Record(e);
}

}  // namespace dumpcrypt
