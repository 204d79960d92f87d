#include "fs/bundle_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "fs/log.h"
#include "fs/open_file.h"
#include "fs/tar_index.h"

namespace dumpcrypt {
namespace {

// A folder of the tar as its members' paths give it.
struct RawDir {
  std::map<std::string, RawDir> dirs;
  std::map<std::string, size_t> files;  // name -> index of the member
};

// Components splits a member's path into its names; empty if it is
// absolute or leaves the tar's root.
std::vector<std::string> Components(const std::string& path) {
  if (path.empty() || path[0] == '/') return {};
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return {};
    out.emplace_back(part);
  }
  return out;
}

// Place puts member `index` at `names` under `root`; false if a file and a
// folder would share a name.
bool Place(RawDir& root, const std::vector<std::string>& names, size_t index) {
  RawDir* dir = &root;
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    if (dir->files.count(names[i]) != 0) return false;
    dir = &dir->dirs[names[i]];
  }
  if (dir->dirs.count(names.back()) != 0) return false;
  dir->files[names.back()] = index;
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BundleTree>> BundleTree::Create(
    const TreeOptions& options, KeyCache* keys, AuditSink* audit) {
  int raw = ::open(options.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (raw < 0 && errno == EPERM)
    raw = ::open(options.source.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return ErrnoStatus(errno, options.source);
  UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, options.source);
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(options.source + " is not a file");
  absl::StatusOr<std::vector<TarMember>> members = ListTar(fd.get());
  if (!members.ok()) return Prefix(members.status(), options.source);
  RawDir root;
  for (size_t i = 0; i < members->size(); ++i) {
    const std::string& path = (*members)[i].path;
    const std::vector<std::string> names = Components(path);
    if (names.empty()) {
      LogLine(absl::StrCat(options.source, ": member ", path,
                           " is skipped: its path leaves the bundle"));
    } else if (!Place(root, names, i)) {
      LogLine(absl::StrCat(options.source, ": member ", path,
                           " is skipped: a file and a folder share its name"));
    }
  }

  std::unique_ptr<BundleTree> tree(
      new BundleTree(options, std::move(fd), st, keys, audit));
  const std::vector<std::string> suffixes =
      FolderNames::ShownSuffixes(options.suffix);
  // Add gives `dir` and everything under it their inodes, the folder first.
  std::function<uint64_t(const RawDir&, const std::string&)> add =
      [&](const RawDir& dir, const std::string& path) -> uint64_t {
    auto item = std::make_shared<Item>();
    item->kind = Node::Kind::kDir;
    item->path = path;
    item->mtime = st.st_mtime;
    tree->items_.push_back(item);
    item->ino = tree->items_.size();
    const std::string prefix = path == "." ? "" : path + "/";
    std::map<std::string, std::shared_ptr<Item>> files;
    for (const auto& [name, index] : dir.files) {
      const TarMember& m = (*members)[index];
      auto file = std::make_shared<Item>();
      file->path = prefix + name;
      file->base = m.offset;
      file->length = m.size;
      file->mtime = m.mtime;
      file->Classify(tree->fd_.get());
      files[name] = std::move(file);
    }
    const FolderNames names{
        suffixes,
        [&](const std::string& n) {
          return files.count(n) != 0 || dir.dirs.count(n) != 0;
        },
        [&](const std::string& n) {
          auto it = files.find(n);
          return it != files.end() &&
                 (it->second->kind == Node::Kind::kEnvelope ||
                  it->second->kind == Node::Kind::kBrokenEnvelope);
        }};
    for (auto& [name, file] : files) {
      tree->items_.push_back(file);
      file->ino = tree->items_.size();
      item->children[names.Shown(name)] = file->ino;
    }
    for (const auto& [name, sub] : dir.dirs)
      item->children[name] = add(sub, prefix + name);
    return item->ino;
  };
  add(root, ".");
  return tree;
}

std::shared_ptr<BundleTree::Item> BundleTree::Get(uint64_t ino) const {
  if (ino == 0 || ino > items_.size()) return nullptr;
  return items_[ino - 1];
}

struct stat BundleTree::Attr(const Item& item) const {
  struct stat st = {};
  st.st_ino = item.ino;
  st.st_uid = at_mount_.st_uid;
  st.st_gid = at_mount_.st_gid;
  const mode_t readable = at_mount_.st_mode & 0444;
  if (item.kind == Node::Kind::kDir) {
    st.st_mode = S_IFDIR | readable | (readable >> 2);
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | readable;
    st.st_nlink = 1;
  }
  st.st_blksize = 4096;
  st.st_mtim.tv_sec = item.mtime;
  st.st_atim = st.st_mtim;
  st.st_ctim = at_mount_.st_ctim;
  server_.ShowSize(item, st);
  return st;
}

absl::StatusOr<Tree::Entry> BundleTree::Lookup(uint64_t parent,
                                               const std::string& name) {
  std::shared_ptr<Item> dir = Get(parent);
  if (dir == nullptr) return absl::NotFoundError(name);
  auto it = dir->children.find(name);
  if (it == dir->children.end()) return absl::NotFoundError(name);
  return Entry{it->second, Attr(*Get(it->second))};
}

absl::StatusOr<struct stat> BundleTree::GetAttr(uint64_t ino) {
  std::shared_ptr<Item> item = Get(ino);
  if (item == nullptr) return absl::NotFoundError("stale inode");
  return Attr(*item);
}

absl::StatusOr<std::string> BundleTree::ReadLink(uint64_t) {
  return absl::InvalidArgumentError("not a symlink");
}

absl::StatusOr<std::vector<Tree::DirEntry>> BundleTree::ReadDir(uint64_t ino) {
  std::shared_ptr<Item> dir = Get(ino);
  if (dir == nullptr || dir->kind != Node::Kind::kDir)
    return absl::NotFoundError("not a folder");
  std::vector<DirEntry> out = {{".", S_IFDIR, 1}, {"..", S_IFDIR, 1}};
  for (const auto& [name, child] : dir->children) {
    const bool is_dir = Get(child)->kind == Node::Kind::kDir;
    out.push_back({name, static_cast<mode_t>(is_dir ? S_IFDIR : S_IFREG),
                   static_cast<ino_t>(child)});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<OpenFile>> BundleTree::Open(
    uint64_t ino, const Caller& caller) {
  std::shared_ptr<Item> item = Get(ino);
  if (item == nullptr) return absl::NotFoundError("stale inode");
  struct stat now;
  if (::fstat(fd_.get(), &now) != 0) return ErrnoStatus(errno, source_);
  if (now.st_size != at_mount_.st_size ||
      now.st_mtim.tv_sec != at_mount_.st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != at_mount_.st_mtim.tv_nsec) {
    return absl::DataLossError(source_ +
                               " changed since it was mounted: mount it again");
  }
  const int fd = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, item->path);
  return server_.Open(item, UniqueFd(fd), caller);
}

bool BundleTree::OpenMayWait(uint64_t ino) {
  std::shared_ptr<Item> item = Get(ino);
  return item != nullptr && server_.OpenMayWait(*item);
}

absl::StatusOr<std::string> BundleTree::GetXattr(uint64_t ino,
                                                 const std::string& name) {
  std::shared_ptr<Item> item = Get(ino);
  if (item == nullptr) return absl::NotFoundError("stale inode");
  return server_.GetXattr(*item, name);
}

absl::StatusOr<std::vector<std::string>> BundleTree::ListXattr(uint64_t ino) {
  std::shared_ptr<Item> item = Get(ino);
  if (item == nullptr) return absl::NotFoundError("stale inode");
  return server_.ListXattr(*item);
}

absl::StatusOr<struct statvfs> BundleTree::StatFs() {
  struct statvfs st;
  if (::fstatvfs(fd_.get(), &st) != 0) return ErrnoStatus(errno, "statfs");
  return st;
}

}  // namespace dumpcrypt
