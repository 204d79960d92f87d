// DumpTree's extended attributes: what an envelope's cleartext header says,
// and the state of its key, readable without the key.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/time_format.h"
#include "fs/dump_tree.h"

namespace dumpcrypt {
namespace {

constexpr char kXattrPrefix[] = "user.dumpcrypt.";
constexpr const char* kXattrNames[] = {
    "key_id", "provider", "type",        "world",     "created",   "host",
    "vm",     "vm_uuid",  "sector_size", "integrity", "key_status"};

}  // namespace

absl::StatusOr<std::string> DumpTree::GetXattr(uint64_t ino,
                                               const std::string& name) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  if (inode->kind == Kind::kBrokenEnvelope &&
      name == absl::StrCat(kXattrPrefix, "error")) {
    return inode->broken;
  }
  if ((inode->kind != Kind::kEnvelope && inode->kind != Kind::kVmware) ||
      !absl::StartsWith(name, kXattrPrefix)) {
    return absl::FailedPreconditionError(name);
  }
  if (inode->kind == Kind::kVmware)
    return VmwareXattr(*inode, name.substr(sizeof(kXattrPrefix) - 1));
  const EnvelopeHeader& h = *inode->header;
  const DumpMetadata& m = h.metadata;
  const std::string key = name.substr(sizeof(kXattrPrefix) - 1);
  if (key == "key_id") return h.primary_key().key_id;
  if (key == "provider") return h.primary_key().provider;
  if (key == "type") return std::string(DumpTypeName(m.type));
  if (key == "world") return m.world;
  if (key == "created") return Rfc3339Unix(m.created_unix);
  if (key == "host") return m.host;
  if (key == "vm") return m.vm_name;
  if (key == "vm_uuid") return m.vm_uuid;
  if (key == "sector_size") return absl::StrCat(h.sector_size);
  if (key == "integrity") return std::string(h.integrity ? "aes-gmac" : "none");
  if (key == "key_status") return KeyStatus(*inode);
  return absl::FailedPreconditionError(name);
}

KeyRef DumpTree::RefOf(const Inode& inode) const {
  if (inode.header != nullptr) return inode.header->primary_key();
  if (inode.ve != nullptr)
    return VeKeyRef(inode.ve->Attribute("vmware.keyInfo"));
  return {};
}

std::string DumpTree::KeyStatus(const Inode& inode) const {
  {
    absl::MutexLock lock(&inode.mu);
    if (!inode.key_error.empty())
      return absl::StrCat("missing: ", inode.key_error);
  }
  return keys_->Status(RefOf(inode));
}

absl::StatusOr<std::string> DumpTree::VmwareXattr(
    const Inode& inode, const std::string& key) const {
  const KeyRef ref = RefOf(inode);
  if (key == "key_id") return ref.key_id;
  if (key == "provider") return ref.provider;
  if (key == "type") return std::string("vmware");
  if (key == "integrity") return inode.ve->Attribute("vmware.cipherName");
  if (key == "key_status") return KeyStatus(inode);
  if (key == "verified") {
    absl::MutexLock lock(&inode.mu);
    if (!inode.ve_verified.has_value()) return std::string("untried");
    if (inode.ve_verified->empty()) return std::string("no");
    return absl::StrCat("yes (context ", *inode.ve_verified, ")");
  }
  return absl::FailedPreconditionError("user.dumpcrypt." + key);
}

absl::StatusOr<std::vector<std::string>> DumpTree::ListXattr(uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  std::vector<std::string> names;
  if (inode->kind == Kind::kEnvelope) {
    for (const char* n : kXattrNames)
      names.push_back(absl::StrCat(kXattrPrefix, n));
  } else if (inode->kind == Kind::kBrokenEnvelope) {
    names.push_back(absl::StrCat(kXattrPrefix, "error"));
  } else if (inode->kind == Kind::kVmware) {
    for (const char* n : {"key_id", "provider", "type", "integrity",
                          "key_status", "verified"}) {
      names.push_back(absl::StrCat(kXattrPrefix, n));
    }
  }
  return names;
}

}  // namespace dumpcrypt
