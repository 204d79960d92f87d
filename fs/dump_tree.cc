#include "fs/dump_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "fs/log.h"
#include "fs/open_file.h"

namespace dumpcrypt {
namespace {

// Gone is the status of an inode whose path names nothing any more.
absl::Status Gone(const std::string& path, int err) {
  if (err == ENOENT || err == ENOTDIR) {
    return absl::AbortedError(path + " moved or went since it was looked up");
  }
  return ErrnoStatus(err, path);
}

}  // namespace

absl::StatusOr<UniqueFd> ReopenReadOnly(int path_fd) {
  const std::string proc = absl::StrCat("/proc/self/fd/", path_fd);
  int fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open");
  return UniqueFd(fd);
}

absl::StatusOr<std::unique_ptr<DumpTree>> DumpTree::Create(TreeOptions options,
                                                           KeyCache* keys,
                                                           AuditSink* audit) {
  int fd = ::open(options.source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "source folder " + options.source);
  UniqueFd root_fd(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return ErrnoStatus(errno, "stat " + options.source);
  std::unique_ptr<DumpTree> tree(
      new DumpTree(options, std::move(root_fd), keys, audit));
  auto root = std::make_shared<Inode>();
  root->ino = kRootIno;
  root->src_dev = st.st_dev;
  root->src_ino = st.st_ino;
  root->kind = Kind::kDir;
  root->path.assign(1, '.');  // not = ".": GCC 12 warns falsely (-Wrestrict)
  {
    absl::MutexLock inode_lock(&root->mu);
    root->nlookup = 1;  // the kernel never forgets the root
  }
  absl::MutexLock lock(&tree->mu_);
  tree->by_source_[{st.st_dev, st.st_ino}] = kRootIno;
  tree->inodes_[kRootIno] = std::move(root);
  return tree;
}

DumpTree::~DumpTree() = default;

std::shared_ptr<DumpTree::Inode> DumpTree::Get(uint64_t ino) const {
  absl::MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? nullptr : it->second;
}

size_t DumpTree::InodeCount() const {
  absl::MutexLock lock(&mu_);
  return inodes_.size();
}

FolderNames DumpTree::NamesIn(int dir_fd) const {
  auto exists = [dir_fd](const std::string& name) {
    struct stat st;
    return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  };
  auto is_envelope = [dir_fd](const std::string& name) {
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      return false;
    }
    int fd = ::openat(dir_fd, name.c_str(),
                      O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    UniqueFd owned(fd);
    return HasAnyMagic(fd);
  };
  return FolderNames{suffixes_, exists, is_envelope};
}

bool DumpTree::Inode::Seen(const struct stat& st) const {
  return seen_ctime.tv_sec == st.st_ctim.tv_sec &&
         seen_ctime.tv_nsec == st.st_ctim.tv_nsec && seen_size == st.st_size;
}

void DumpTree::Inode::See(const struct stat& st) {
  seen_ctime = st.st_ctim;
  seen_size = st.st_size;
}

absl::Status DumpTree::NoteLimit(absl::Status status) const {
  if (absl::IsResourceExhausted(status) &&
      !limit_logged_.exchange(true, std::memory_order_relaxed)) {
    struct rlimit files = {};
    ::getrlimit(RLIMIT_NOFILE, &files);
    LogLine(absl::StrCat(
        "warning: the daemon has as many files open as its limit allows (",
        files.rlim_cur,
        "): further opens fail until some are closed; raise the limit "
        "(ulimit -n, LimitNOFILE=) for more files open at once"));
  }
  return status;
}

absl::StatusOr<UniqueFd> DumpTree::Reach(const Inode& inode, int flags) const {
  const int fd = ::openat(root_fd_.get(), inode.path.c_str(),
                          flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return NoteLimit(Gone(inode.path, errno));
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, inode.path);
  if (st.st_dev != inode.src_dev || st.st_ino != inode.src_ino)
    return absl::AbortedError(inode.path + " changed since it was looked up");
  return owned;
}

absl::StatusOr<struct stat> DumpTree::StatOf(const Inode& inode) const {
  struct stat st;
  if (::fstatat(root_fd_.get(), inode.path.c_str(), &st, AT_SYMLINK_NOFOLLOW) !=
      0) {
    return Gone(inode.path, errno);
  }
  if (st.st_dev != inode.src_dev || st.st_ino != inode.src_ino)
    return absl::AbortedError(inode.path + " changed since it was looked up");
  return st;
}

absl::Status DumpTree::Classify(int path_fd, Node& node) {
  DC_ASSIGN_OR_RETURN(UniqueFd reader, ReopenReadOnly(path_fd));
  node.Classify(reader.get());
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<DumpTree::Inode>> DumpTree::MakeInode(
    int fd, const struct stat& st, std::string path) {
  auto inode = std::make_shared<Inode>();
  inode->src_dev = st.st_dev;
  inode->src_ino = st.st_ino;
  inode->path = std::move(path);
  if (S_ISDIR(st.st_mode)) {
    inode->kind = Kind::kDir;
  } else if (S_ISLNK(st.st_mode)) {
    inode->kind = Kind::kSymlink;
  } else if (S_ISREG(st.st_mode)) {
    DC_RETURN_IF_ERROR(Classify(fd, *inode));
    absl::MutexLock lock(&inode->mu);
    inode->See(st);
  }
  return inode;
}

// CheckCurrent is ABORTED if the regular file behind `inode` changed into
// something `inode` does not describe.
absl::Status DumpTree::CheckCurrent(Inode& inode) const {
  if (inode.kind == Kind::kDir || inode.kind == Kind::kSymlink ||
      inode.kind == Kind::kOther) {
    return absl::OkStatus();
  }
  DC_ASSIGN_OR_RETURN(const struct stat st, StatOf(inode));
  {
    absl::MutexLock lock(&inode.mu);
    if (inode.Seen(st)) return absl::OkStatus();
  }
  if (inode.kind == Kind::kFile) {
    Node now;
    DC_ASSIGN_OR_RETURN(UniqueFd fd, Reach(inode, O_PATH));
    DC_RETURN_IF_ERROR(Classify(fd.get(), now));
    if (now.kind == Kind::kFile) {
      absl::MutexLock lock(&inode.mu);
      inode.See(st);
      return absl::OkStatus();
    }
  }
  return absl::AbortedError(inode.path + " changed since it was looked up");
}

absl::StatusOr<DumpTree::Entry> DumpTree::Lookup(uint64_t parent_ino,
                                                 const std::string& name) {
  std::shared_ptr<Inode> parent = Get(parent_ino);
  if (parent == nullptr || parent->kind != Kind::kDir)
    return absl::NotFoundError(name);
  DC_ASSIGN_OR_RETURN(UniqueFd parent_fd, Reach(*parent, O_PATH | O_DIRECTORY));
  DC_ASSIGN_OR_RETURN(std::string source_name,
                      NamesIn(parent_fd.get()).Source(name));
  int fd = ::openat(parent_fd.get(), source_name.c_str(),
                    O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return NoteLimit(ErrnoStatus(errno, name));
  UniqueFd owned(fd);
  struct stat st;
  if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, name);
  }
  // The count goes up under mu_, so a concurrent Forget cannot drop the
  // inode between finding and counting it. An inode of an earlier version
  // of the file is not taken, unless it was and is a plain file (`made`).
  auto find_and_count = [&](const Inode* made) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                            mu_) -> std::shared_ptr<Inode> {
    auto it = by_source_.find({st.st_dev, st.st_ino});
    if (it == by_source_.end()) return nullptr;
    std::shared_ptr<Inode> found = inodes_.at(it->second);
    absl::MutexLock inode_lock(&found->mu);
    if (S_ISREG(st.st_mode) && !found->Seen(st)) {
      if (made == nullptr || found->kind != Kind::kFile ||
          made->kind != Kind::kFile) {
        return nullptr;
      }
      found->See(st);
    }
    ++found->nlookup;
    return found;
  };
  std::shared_ptr<Inode> inode;
  {
    absl::MutexLock lock(&mu_);
    inode = find_and_count(nullptr);
  }
  if (inode == nullptr) {
    const std::string path = parent->ino == kRootIno
                                 ? source_name
                                 : absl::StrCat(parent->path, "/", source_name);
    DC_ASSIGN_OR_RETURN(std::shared_ptr<Inode> made,
                        MakeInode(owned.get(), st, path));
    absl::MutexLock lock(&mu_);
    inode = find_and_count(made.get());  // a concurrent lookup may have won
    if (inode == nullptr) {
      made->ino = next_ino_++;
      by_source_[{st.st_dev, st.st_ino}] = made->ino;
      inodes_[made->ino] = made;
      inode = std::move(made);
      absl::MutexLock inode_lock(&inode->mu);
      ++inode->nlookup;
    }
  }
  return Entry{inode->ino, Attr(*inode, st)};
}

void DumpTree::Forget(uint64_t ino, uint64_t count) {
  absl::MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end() || ino == kRootIno) return;
  Inode& inode = *it->second;
  absl::MutexLock inode_lock(&inode.mu);
  inode.nlookup -= std::min(count, inode.nlookup);
  if (inode.nlookup == 0) {
    auto source = by_source_.find({inode.src_dev, inode.src_ino});
    if (source != by_source_.end() && source->second == ino)
      by_source_.erase(source);
    inodes_.erase(it);
  }
}

struct stat DumpTree::Attr(const Inode& inode, struct stat st) const {
  st.st_ino = inode.ino;
  if (!S_ISLNK(st.st_mode)) st.st_mode &= ~(S_IWUSR | S_IWGRP | S_IWOTH);
  server_.ShowSize(inode, st);
  return st;
}

absl::StatusOr<struct stat> DumpTree::GetAttr(uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  DC_ASSIGN_OR_RETURN(const struct stat st, StatOf(*inode));
  return Attr(*inode, st);
}

absl::StatusOr<std::string> DumpTree::ReadLink(uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr || inode->kind != Kind::kSymlink) {
    return absl::InvalidArgumentError("not a symlink");
  }
  DC_ASSIGN_OR_RETURN(UniqueFd fd, Reach(*inode, O_PATH));
  char target[PATH_MAX];
  ssize_t n = ::readlinkat(fd.get(), "", target, sizeof(target));
  if (n < 0) return ErrnoStatus(errno, "readlink");
  std::string link(target, static_cast<size_t>(n));
  // A link to a file of its own folder points at what the mount shows for
  // it ("latest.dce -> real.dce" reads as "latest.dce -> real").
  if (link.find('/') != std::string::npos) return link;
  const std::string dir = DirName(inode->path);
  const int dir_fd =
      ::openat(root_fd_.get(), dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return link;
  UniqueFd owned(dir_fd);
  return NamesIn(dir_fd).Shown(link);
}

absl::StatusOr<std::vector<DumpTree::DirEntry>> DumpTree::ReadDir(
    uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr || inode->kind != Kind::kDir)
    return absl::NotFoundError("not a folder");
  DC_ASSIGN_OR_RETURN(UniqueFd fd, Reach(*inode, O_RDONLY | O_DIRECTORY));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return ErrnoStatus(errno, "open folder " + inode->path);
  fd.Release();  // the DIR owns it
  std::map<std::string, std::pair<mode_t, ino_t>> names;
  while (struct dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    names[name] = {static_cast<mode_t>(DTTOIF(e->d_type)),
                   e->d_ino ? e->d_ino : 1};
  }
  std::vector<DirEntry> out = {{".", S_IFDIR, 1}, {"..", S_IFDIR, 1}};
  const FolderNames shown = NamesIn(::dirfd(dir));
  for (const auto& [name, type_ino] : names) {
    out.push_back({shown.Shown(name), type_ino.first, type_ino.second});
  }
  ::closedir(dir);
  return out;
}

absl::StatusOr<struct statvfs> DumpTree::StatFs() {
  struct statvfs st;
  if (::fstatvfs(root_fd_.get(), &st) != 0) return ErrnoStatus(errno, "statfs");
  return st;
}

absl::StatusOr<std::unique_ptr<OpenFile>> DumpTree::Open(uint64_t ino,
                                                         const Caller& caller) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  DC_RETURN_IF_ERROR(CheckCurrent(*inode));
  if (inode->kind != Kind::kFile && inode->kind != Kind::kEnvelope) {
    return server_.Open(inode, UniqueFd(), caller);
  }
  absl::StatusOr<UniqueFd> fd = Reach(*inode, O_RDONLY | O_NOATIME);
  if (absl::IsPermissionDenied(fd.status()))  // O_NOATIME: not the owner
    fd = Reach(*inode, O_RDONLY);
  if (!fd.ok()) return fd.status();
  return server_.Open(inode, *std::move(fd), caller);
}

bool DumpTree::OpenMayWait(uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  return inode != nullptr && server_.OpenMayWait(*inode);
}

absl::StatusOr<std::string> DumpTree::GetXattr(uint64_t ino,
                                               const std::string& name) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  return server_.GetXattr(*inode, name);
}

absl::StatusOr<std::vector<std::string>> DumpTree::ListXattr(uint64_t ino) {
  std::shared_ptr<Inode> inode = Get(ino);
  if (inode == nullptr) return absl::NotFoundError("stale inode");
  return server_.ListXattr(*inode);
}

}  // namespace dumpcrypt
