// DumpTree's extended attributes: what an envelope's cleartext says, and
// the state of its key, readable without the key.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fs/dump_tree.h"

namespace dumpcrypt {
namespace {

constexpr char kXattrPrefix[] = "user.dumpcrypt.";

}  // namespace

absl::StatusOr<std::string> DumpTree::GetXattr(uint64_t ino,
                                               const std::string& name) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  if (!absl::StartsWith(name, kXattrPrefix))
    return absl::FailedPreconditionError(name);
  const std::string key = name.substr(sizeof(kXattrPrefix) - 1);
  if (inode->kind == Kind::kBrokenEnvelope && key == "error")
    return inode->broken;
  if (inode->kind != Kind::kEnvelope)
    return absl::FailedPreconditionError(name);
  if (key == "key_status") return KeyStatus(*inode);
  if (key == "verified" && inode->envelope->has_file_tag()) {
    absl::MutexLock lock(&inode->mu);
    if (!inode->file_tag.has_value()) return std::string("untried");
    if (!inode->verified_context.has_value()) return std::string("no");
    return absl::StrCat("yes (context ", *inode->verified_context, ")");
  }
  for (const Attribute& a : inode->envelope->Attributes()) {
    if (a.name == key) return a.value;
  }
  return absl::FailedPreconditionError(name);
}

std::string DumpTree::KeyStatus(const Inode& inode) const {
  {
    absl::MutexLock lock(&inode.mu);
    if (!inode.key_error.empty()) return inode.key_error;
  }
  const std::vector<KeyRef> refs = inode.envelope->key_refs();
  if (refs.empty()) return "password or identity slot";
  return keys_->Status(refs.front());
}

absl::StatusOr<std::vector<std::string>> DumpTree::ListXattr(uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  std::vector<std::string> names;
  if (inode->kind == Kind::kBrokenEnvelope) {
    names.push_back(absl::StrCat(kXattrPrefix, "error"));
  } else if (inode->kind == Kind::kEnvelope) {
    for (const Attribute& a : inode->envelope->Attributes())
      names.push_back(absl::StrCat(kXattrPrefix, a.name));
    names.push_back(absl::StrCat(kXattrPrefix, "key_status"));
    if (inode->envelope->has_file_tag())
      names.push_back(absl::StrCat(kXattrPrefix, "verified"));
  }
  return names;
}

}  // namespace dumpcrypt
