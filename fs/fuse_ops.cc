#include "fs/fuse_ops.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/work_queue.h"
#include "fs/device_poller.h"
#include "fs/errno_map.h"
#include "fs/init_reply.h"
#include "fs/log.h"
#include "fs/open_file.h"
#include "fs/read_ahead.h"

namespace dumpcrypt {
namespace {

// Threads for opens that may wait on a key source: one KMS that hangs holds
// at most these, and the FUSE threads stay free.
constexpr int kKeyWaitThreads = 8;

struct Session {
  Session(Tree* t, const ServeOptions& o) : tree(t), options(o) {}

  Tree* const tree;
  const ServeOptions options;
  fuse_session* se = nullptr;
  // Open files, deleted at the end if the kernel never released them, so
  // that their keys are cleansed at exit too.
  absl::Mutex mu;
  std::set<OpenFile*> open ABSL_GUARDED_BY(mu);
  // Set while the session reads its device through it.
  std::unique_ptr<DevicePoller> poller;
  std::atomic<bool> init_replied{false};
  // Opens that may wait on a key source run here, never on the threads
  // that serve reads and lookups (set while the loop runs).
  std::unique_ptr<WorkQueue> key_waits;
};

Session& Of(fuse_req_t req) {
  return *static_cast<Session*>(fuse_req_userdata(req));
}

void ReplyStatus(fuse_req_t req, const absl::Status& status) {
  fuse_reply_err(req, ErrnoFromStatus(status));
}

Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid, ctx->pid, {}};
}

// ReadBuffer is this thread's reply buffer, allocated once.
uint8_t* ReadBuffer() {
  thread_local std::unique_ptr<uint8_t[]> buffer(new uint8_t[kMaxFuseIo]);
  return buffer.get();
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  conn->max_write = kMaxFuseIo;  // libfuse derives max_pages from it
  conn->max_read = kMaxFuseIo;   // must equal the max_read mount option
  // The kernel lowers the mount's window to this when INIT is answered,
  // after ServeFuse has raised it.
  const uint64_t window =
      uint64_t{static_cast<Session*>(userdata)->options.read_ahead_kb} << 10;
  conn->max_readahead = static_cast<uint32_t>(
      std::clamp<uint64_t>(window, kMaxFuseIo, UINT32_MAX));
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto entry = Of(req).tree->Lookup(parent, name);
  if (!entry.ok()) return ReplyStatus(req, entry.status());
  fuse_entry_param param = {};
  param.ino = entry->ino;
  param.attr = entry->attr;
  param.attr_timeout = param.entry_timeout = Of(req).options.timeout;
  if (fuse_reply_entry(req, &param) != 0) Of(req).tree->Forget(entry->ino, 1);
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Of(req).tree->Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i)
    Of(req).tree->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto attr = Of(req).tree->GetAttr(ino);
  if (!attr.ok()) return ReplyStatus(req, attr.status());
  fuse_reply_attr(req, &*attr, Of(req).options.timeout);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  auto target = Of(req).tree->ReadLink(ino);
  if (!target.ok()) return ReplyStatus(req, target.status());
  fuse_reply_readlink(req, target->c_str());
}

using DirSnapshot = std::vector<Tree::DirEntry>;

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto entries = Of(req).tree->ReadDir(ino);
  if (!entries.ok()) return ReplyStatus(req, entries.status());
  auto* snapshot = new DirSnapshot(std::move(entries).value());
  fi->fh = reinterpret_cast<uint64_t>(snapshot);
  if (fuse_reply_open(req, fi) != 0) delete snapshot;
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t offset,
               fuse_file_info* fi) {
  const auto& entries = *reinterpret_cast<DirSnapshot*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(offset); i < entries.size(); ++i) {
    struct stat st = {};
    st.st_mode = entries[i].type;
    st.st_ino = entries[i].ino;
    const size_t need = fuse_add_direntry(req, buf.data() + used, size - used,
                                          entries[i].name.c_str(), &st,
                                          static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirSnapshot*>(fi->fh);
  fuse_reply_err(req, 0);
}

// OpenAndReply opens `ino` for `caller` and answers the kernel's open.
void OpenAndReply(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
                  const Caller& caller) {
  Session& s = Of(req);
  auto file = s.tree->Open(ino, caller);
  if (!file.ok()) return ReplyStatus(req, file.status());
  OpenFile* raw = file->release();
  fi->fh = reinterpret_cast<uint64_t>(raw);
  fi->keep_cache = !s.options.direct_io;
  fi->direct_io = s.options.direct_io;
  // Read before replying: once the reply is out, the kernel may release
  // (and so delete) the file on another thread.
  const bool size_changed = raw->size_changed();
  {
    absl::MutexLock lock(&s.mu);
    s.open.insert(raw);
  }
  // The first open of a VMware envelope learns its exact size: the kernel
  // must drop the upper bound it was shown. This goes before the reply: a
  // short read at the real end shrinks the kernel's size only if the
  // attributes did not change while it ran, so no read may overlap it.
  if (size_changed) fuse_lowlevel_notify_inval_inode(s.se, ino, -1, 0);
  if (fuse_reply_open(req, fi) != 0) {
    absl::MutexLock lock(&s.mu);
    s.open.erase(raw);
    delete raw;
  }
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
    return (void)fuse_reply_err(req, EROFS);
  }
  Session& s = Of(req);
  Caller caller = CallerOf(req);
  // The decrypt policy may name a supplementary group.
  gid_t groups[64];
  const int n = fuse_req_getgroups(req, 64, groups);
  for (int i = 0; i < std::min(n, 64); ++i) caller.groups.push_back(groups[i]);
  if (s.tree->OpenMayWait(ino)) {
    s.key_waits->Run([req, ino, copy = *fi, caller = std::move(caller)] {
      fuse_file_info info = copy;
      OpenAndReply(req, ino, &info, caller);
    });
    return;
  }
  OpenAndReply(req, ino, fi, caller);
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t offset,
            fuse_file_info* fi) {
  const auto* file = reinterpret_cast<const OpenFile*>(fi->fh);
  uint8_t* buf = ReadBuffer();
  auto got = file->Read(static_cast<uint64_t>(offset),
                        absl::MakeSpan(buf, std::min(size, kMaxFuseIo)));
  if (!got.ok()) return ReplyStatus(req, got.status());
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf), *got);
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* file = reinterpret_cast<OpenFile*>(fi->fh);
  Session& s = Of(req);
  {
    absl::MutexLock lock(&s.mu);
    s.open.erase(file);
  }
  delete file;
  fuse_reply_err(req, 0);
  // Even with direct_io, a mapping reads through the page cache; what it
  // left there goes when its file is released (after its last munmap).
  if (s.options.direct_io) fuse_lowlevel_notify_inval_inode(s.se, ino, 0, 0);
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto value = Of(req).tree->GetXattr(ino, name);
  if (!value.ok()) return ReplyStatus(req, value.status());
  if (size == 0) return (void)fuse_reply_xattr(req, value->size());
  if (size < value->size()) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, value->data(), value->size());
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  auto names = Of(req).tree->ListXattr(ino);
  if (!names.ok()) return ReplyStatus(req, names.status());
  std::string all;
  for (const std::string& n : *names) all.append(n).push_back('\0');
  if (size == 0) return (void)fuse_reply_xattr(req, all.size());
  if (size < all.size()) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, all.data(), all.size());
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  auto st = Of(req).tree->StatFs();
  if (!st.ok()) return ReplyStatus(req, st.status());
  fuse_reply_statfs(req, &*st);
}

void Erofs(fuse_req_t req) { fuse_reply_err(req, EROFS); }

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops = {};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.readlink = OpReadlink;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.release = OpRelease;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.statfs = OpStatfs;
  // Read-only end to end: every op that would change anything.
  ops.setattr = [](fuse_req_t r, fuse_ino_t, struct stat*, int,
                   fuse_file_info*) { Erofs(r); };
  ops.mknod = [](fuse_req_t r, fuse_ino_t, const char*, mode_t, dev_t) {
    Erofs(r);
  };
  ops.mkdir = [](fuse_req_t r, fuse_ino_t, const char*, mode_t) { Erofs(r); };
  ops.unlink = [](fuse_req_t r, fuse_ino_t, const char*) { Erofs(r); };
  ops.rmdir = [](fuse_req_t r, fuse_ino_t, const char*) { Erofs(r); };
  ops.symlink = [](fuse_req_t r, const char*, fuse_ino_t, const char*) {
    Erofs(r);
  };
  ops.rename = [](fuse_req_t r, fuse_ino_t, const char*, fuse_ino_t,
                  const char*, unsigned) { Erofs(r); };
  ops.link = [](fuse_req_t r, fuse_ino_t, fuse_ino_t, const char*) {
    Erofs(r);
  };
  ops.write = [](fuse_req_t r, fuse_ino_t, const char*, size_t, off_t,
                 fuse_file_info*) { Erofs(r); };
  ops.create = [](fuse_req_t r, fuse_ino_t, const char*, mode_t,
                  fuse_file_info*) { Erofs(r); };
  ops.setxattr = [](fuse_req_t r, fuse_ino_t, const char*, const char*, size_t,
                    int) { Erofs(r); };
  ops.removexattr = [](fuse_req_t r, fuse_ino_t, const char*) { Erofs(r); };
  ops.fallocate = [](fuse_req_t r, fuse_ino_t, int, off_t, off_t,
                     fuse_file_info*) { Erofs(r); };
  return ops;
}

// UseOwnDeviceIo makes the session write its device through a writev that
// lets the kernel map direct_io files shared (fs/init_reply.h), and read it
// through a DevicePoller if options.poll_us asks for one.
void UseOwnDeviceIo(Session& s) {
  fuse_session* se = s.se;
  if (s.options.poll_us > 0) {
    s.poller = std::make_unique<DevicePoller>(
        absl::Microseconds(s.options.poll_us),
        [se] { return fuse_session_exited(se) != 0; });
  }
  static constexpr fuse_custom_io kIo = {
      .writev = [](int fd, iovec* iov, int count, void* userdata) -> ssize_t {
        auto* session = static_cast<Session*>(userdata);
        if (!session->init_replied.exchange(true)) {
          AllowSharedMappings(iov, count);
        }
        return writev(fd, iov, count);
      },
      .read = [](int fd, void* buf, size_t len, void* userdata) -> ssize_t {
        DevicePoller* poller = static_cast<Session*>(userdata)->poller.get();
        return poller != nullptr ? poller->Read(fd, buf, len)
                                 : read(fd, buf, len);
      },
      .splice_receive = nullptr,
      .splice_send = nullptr,
  };
  const int rc = fuse_session_custom_io(se, &kIo, fuse_session_fd(se));
  if (rc != 0) {
    LogLine(absl::StrCat("the FUSE device keeps libfuse's own I/O: ",
                         strerror(-rc)));
    s.poller.reset();
  }
}

}  // namespace

int ServeFuse(Tree* tree, struct fuse_args* args, const std::string& mountpoint,
              const ServeOptions& options) {
  Session session(tree, options);
  const fuse_lowlevel_ops ops = MakeOps();
  fuse_session* se = fuse_session_new(args, &ops, sizeof(ops), &session);
  if (se == nullptr) return 1;
  session.se = se;
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, mountpoint.c_str()) == 0) {
      if (options.read_ahead_kb > 0) {
        const absl::Status ra =
            SetMountReadAhead(mountpoint, options.read_ahead_kb);
        if (!ra.ok()) {
          LogLine(absl::StrCat("read-ahead stays at the kernel default: ",
                               ra.message()));
        }
      }
      if (options.mounted) options.mounted();
      fuse_daemonize(options.foreground ? 1 : 0);
      if (options.daemonized) options.daemonized();
      UseOwnDeviceIo(session);
      fuse_loop_config* config = fuse_loop_cfg_create();
      fuse_loop_cfg_set_clone_fd(config, 0);
      fuse_loop_cfg_set_max_threads(config, options.max_threads);
      // Idle threads stay, so each keeps its reply buffer.
      fuse_loop_cfg_set_idle_threads(config, options.max_threads);
      // Made after fuse_daemonize: its threads would not survive the fork.
      session.key_waits = std::make_unique<WorkQueue>(kKeyWaitThreads);
      const int loop = fuse_session_loop_mt(se, config);
      session.key_waits.reset();  // answers the opens still waiting
      fuse_loop_cfg_destroy(config);
      // A signal ends the loop with its number: that is a clean end too.
      rc = (loop == 0 || loop == SIGINT || loop == SIGTERM || loop == SIGHUP)
               ? 0
               : 1;
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  absl::MutexLock lock(&session.mu);
  for (OpenFile* file : session.open) delete file;
  session.open.clear();
  return rc;
}

}  // namespace dumpcrypt
