// How the mount behaves: keys fetched lazily, missing keys, damaged data,
// read-only, signals, no plaintext written anywhere.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "tests/fs/mount_test_base.h"
#include "tests/run_tool.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MountBehaviorTest : public MountTestBase {
 protected:
  std::string Xattr(const std::string& path, const std::string& name) {
    char value[1024];
    ssize_t n = getxattr(path.c_str(), name.c_str(), value, sizeof(value));
    return n < 0 ? "errno " + std::to_string(errno) : std::string(value, n);
  }
  int CountEvents(const std::string& event) {
    int n = 0;
    for (absl::string_view line : absl::StrSplit(Audit(), '\n')) {
      n += absl::StrContains(line, "\"event\":\"" + event + "\"");
    }
    return n;
  }
  int OpenErrno(const std::string& path, int flags = O_RDONLY) {
    int fd = open(path.c_str(), flags, 0600);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    return errno;
  }
};

TEST_F(MountBehaviorTest, KeysAreFetchedLazilyOncePerKeyId) {
  auto store = LocalKeyStore::Open(keystore_);
  ASSERT_TRUE(store.ok());
  std::vector<SecretBytes> keks;
  for (int k = 2; k <= 3; ++k) {
    keks.push_back(SecretBytes::CopyOf(RandomBytes(32, 100 + k)));
    ASSERT_TRUE((*store)->Add("k" + std::to_string(k), keks.back()).ok());
  }
  const std::vector<uint8_t> data = RandomBytes(20000, 3);
  for (int i = 0; i < 20; ++i) {
    const int k = i % 3 + 1;
    const std::string name = "dump" + std::to_string(i) + ".dce";
    const SecretBytes& kek = k == 1 ? kek_ : keks[k - 2];
    ASSERT_TRUE(SealBuffer(src_ + "/" + name, data, SealOptions(), kek,
                           {"local", "k" + std::to_string(k)})
                    .ok());
  }
  StartMount({"allow_other"});
  EXPECT_THAT(RunTool({"findmnt", "-n", "-o", "OPTIONS", mnt_}).out,
              HasSubstr("allow_other"));
  // Listing, stat and xattrs of every dump use no key.
  ToolResult r = RunTool({"ls", "-l", mnt_});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("dump19"));
  ASSERT_EQ(RunTool({"find", mnt_, "-type", "f"}).exit_code, 0);
  EXPECT_EQ(Xattr(mnt_ + "/dump4", "user.dumpcrypt.key_id"), "k2");
  EXPECT_EQ(Xattr(mnt_ + "/dump4", "user.dumpcrypt.key_status"), "untried");
  EXPECT_EQ(CountEvents("key_fetched"), 0);
  // Reading them all fetches each of the three keys once.
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(ReadFileOrFail(mnt_ + "/dump" + std::to_string(i)) == data)
        << i;
  }
  EXPECT_EQ(CountEvents("key_fetched"), 3);
  EXPECT_EQ(CountEvents("open"), 20);
  EXPECT_EQ(Xattr(mnt_ + "/dump4", "user.dumpcrypt.key_status"), "available");
}

TEST_F(MountBehaviorTest, MissingKeyFailsOpenWithEnokeyOnly) {
  const std::vector<uint8_t> data = RandomBytes(50000, 4);
  Seal("good.dce", data);
  SealOptions options;
  ASSERT_TRUE(SealBuffer(src_ + "/orphan.dce", data, options,
                         SecretBytes::CopyOf(RandomBytes(32, 9)),
                         {"kms-b", "lost-key"})
                  .ok());
  StartMount();
  struct stat st;
  ASSERT_EQ(stat((mnt_ + "/orphan").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 50000);
  EXPECT_EQ(Xattr(mnt_ + "/orphan", "user.dumpcrypt.key_id"), "lost-key");
  EXPECT_EQ(Xattr(mnt_ + "/orphan", "user.dumpcrypt.provider"), "kms-b");
  EXPECT_EQ(OpenErrno(mnt_ + "/orphan"), ENOKEY);
  EXPECT_THAT(Xattr(mnt_ + "/orphan", "user.dumpcrypt.key_status"),
              HasSubstr("missing: "));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/good") == data);
  EXPECT_THAT(Log(),
              HasSubstr("orphan.dce: keyID 'lost-key' (provider 'kms-b')"));
  EXPECT_EQ(CountEvents("key_missing"), 1);
  EXPECT_THAT(Audit(), HasSubstr("\"path\":\"orphan.dce\""));
}

TEST_F(MountBehaviorTest, TamperedSectorIsEioForThatRangeOnly) {
  const std::vector<uint8_t> data = RandomBytes(10 * 4096, 5);
  Seal("core.dce", data);
  {
    int fd = open((src_ + "/core.dce").c_str(), O_RDWR);
    const off_t at = 4096 + 6 * (4096 + 16) + 1000;
    uint8_t b;
    ASSERT_EQ(pread(fd, &b, 1, at), 1);
    b ^= 0x80;
    ASSERT_EQ(pwrite(fd, &b, 1, at), 1);
    close(fd);
  }
  StartMount({"direct_io"});
  int fd = open((mnt_ + "/core").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> buf(4096);
  EXPECT_EQ(pread(fd, buf.data(), 4096, 6 * 4096), -1);
  EXPECT_EQ(errno, EIO);
  for (int s : {0, 5, 7, 9}) {
    ASSERT_EQ(pread(fd, buf.data(), 4096, s * 4096), 4096) << s;
    EXPECT_TRUE(std::equal(buf.begin(), buf.end(), data.begin() + s * 4096))
        << s;
  }
  close(fd);
  EXPECT_THAT(Log(),
              HasSubstr("core.dce: integrity check failed at sector 6 "));
  EXPECT_GE(CountEvents("integrity_failure"), 1);
}

// crash maps the page bitmap of makedumpfile's dumps shared.
TEST_F(MountBehaviorTest, StrictModeMapsAndDropsThePagesAtClose) {
  const std::vector<uint8_t> data = RandomBytes(64 * 4096, 9);
  Seal("core.dce", data);
  StartMount({"direct_io"});
  const std::string path = mnt_ + "/core";
  // An untouched mapping: mincore then tells what the page cache holds.
  const int watch_fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(watch_fd, 0);
  absl::Cleanup close_watch = [watch_fd] { close(watch_fd); };
  void* watch = mmap(nullptr, data.size(), PROT_READ, MAP_PRIVATE, watch_fd, 0);
  ASSERT_NE(watch, MAP_FAILED);
  absl::Cleanup unmap_watch = [&] { munmap(watch, data.size()); };
  auto cached_pages = [&] {
    std::vector<unsigned char> vec(data.size() / 4096);
    EXPECT_EQ(mincore(watch, data.size(), vec.data()), 0);
    return std::count_if(vec.begin(), vec.end(),
                         [](unsigned char c) { return c & 1; });
  };
  EXPECT_EQ(cached_pages(), 0);

  for (const int flags : {MAP_PRIVATE, MAP_SHARED}) {
    SCOPED_TRACE(flags == MAP_SHARED ? "shared" : "private");
    const int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    void* map = mmap(nullptr, data.size(), PROT_READ, flags, fd, 0);
    EXPECT_NE(map, MAP_FAILED) << strerror(errno);
    if (map != MAP_FAILED) {
      EXPECT_EQ(memcmp(map, data.data(), data.size()), 0);
      EXPECT_GT(cached_pages(), 0);
      munmap(map, data.size());
    }
    // Read-only to the end: a writable shared mapping is refused.
    EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
              MAP_FAILED);
    close(fd);  // the kernel releases the file after this returns
    for (int i = 0; i < 300 && cached_pages() > 0; ++i) usleep(10000);
    EXPECT_EQ(cached_pages(), 0);
  }
}

TEST_F(MountBehaviorTest, EveryWriteIsErofs) {
  Seal("core.dce", RandomBytes(1000, 6));
  ASSERT_EQ(mkdir((src_ + "/dir").c_str(), 0755), 0);
  StartMount();
  const std::string core = mnt_ + "/core";
  EXPECT_EQ(OpenErrno(core, O_WRONLY), EROFS);
  EXPECT_EQ(OpenErrno(core, O_RDWR), EROFS);
  EXPECT_EQ(OpenErrno(core, O_RDONLY | O_TRUNC), EROFS);
  EXPECT_EQ(OpenErrno(mnt_ + "/new", O_WRONLY | O_CREAT), EROFS);
  auto fails_erofs = [](int rc) { return rc == -1 && errno == EROFS; };
  EXPECT_TRUE(fails_erofs(unlink(core.c_str())));
  EXPECT_TRUE(fails_erofs(rename(core.c_str(), (mnt_ + "/moved").c_str())));
  EXPECT_TRUE(fails_erofs(mkdir((mnt_ + "/d2").c_str(), 0755)));
  EXPECT_TRUE(fails_erofs(rmdir((mnt_ + "/dir").c_str())));
  EXPECT_TRUE(fails_erofs(chmod(core.c_str(), 0644)));
  EXPECT_TRUE(fails_erofs(truncate(core.c_str(), 0)));
  EXPECT_TRUE(fails_erofs(symlink("core", (mnt_ + "/ln").c_str())));
  EXPECT_TRUE(fails_erofs(link(core.c_str(), (mnt_ + "/hard").c_str())));
  EXPECT_TRUE(fails_erofs(setxattr(core.c_str(), "user.x", "1", 1, 0)));
  EXPECT_TRUE(
      fails_erofs(setxattr(core.c_str(), "user.dumpcrypt.key_id", "1", 1, 0)));
  EXPECT_TRUE(fails_erofs(removexattr(core.c_str(), "user.dumpcrypt.key_id")));
  EXPECT_EQ(Xattr(core, "user.dumpcrypt.key_id"), "k1");
}

TEST_F(MountBehaviorTest, SigtermUnmountsAndExitsZero) {
  Seal("core.dce", RandomBytes(1000, 7));
  StartMount();
  mount_->Signal(SIGTERM);
  EXPECT_EQ(mount_->WaitExit(absl::Seconds(10)), 0) << Log();
  EXPECT_FALSE(IsMounted(mnt_));
  EXPECT_EQ(CountEvents("unmount"), 1);
}

TEST_F(MountBehaviorTest, KilledDaemonLeavesAMountFusermountClears) {
  const std::vector<uint8_t> data = RandomBytes(1000, 8);
  Seal("core.dce", data);
  StartMount();
  mount_->Signal(SIGKILL);
  EXPECT_EQ(mount_->WaitExit(absl::Seconds(10)), 128 + SIGKILL);
  EXPECT_TRUE(IsMounted(mnt_));
  struct stat st;
  EXPECT_EQ(stat((mnt_ + "/core").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTCONN);
  EXPECT_EQ(RunTool({"fusermount3", "-u", mnt_}).exit_code, 0);
  EXPECT_FALSE(IsMounted(mnt_));
  mount_.reset();
  StartMount();
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
}

TEST_F(MountBehaviorTest, NothingIsOpenedForWritingOrCreatedDuringReads) {
  if (RunTool({"sh", "-c", "command -v strace"}).exit_code != 0) {
    GTEST_SKIP() << "needs strace (Debian package strace)";
  }
  for (int i = 0; i < 4; ++i)
    Seal("d" + std::to_string(i) + ".dce", RandomBytes(300000 + i, i));
  WriteFileOrDie(src_ + "/plain.log", RandomBytes(1000, 1));
  const std::string trace = dir_.File("trace");
  StartMount({}, {"strace", "-f", "-qq", "-o", trace, "-e",
                  "trace=open,openat,openat2,creat,mkdir,mkdirat,mknod,mknodat,"
                  "rename,renameat,"
                  "renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,"
                  "truncate,ftruncate"});
  ToolResult r =
      RunTool({"sh", "-c", "find " + mnt_ + " -type f -exec cat {} + | wc -c"});
  EXPECT_EQ(r.out, std::to_string(300000 * 4 + 6 + 1000) + "\n");
  const std::string list_all = "find " + dir_.path() + " -path " + trace +
                               " -prune -o -path " + mnt_ +
                               " -prune -o -print | sort";
  const std::string before = RunTool({"sh", "-c", list_all}).out;
  mount_->Unmount();
  std::ifstream in(trace);
  int opens = 0;
  for (std::string line; std::getline(in, line);) {
    if (absl::StrContains(line, "\"/dev/fuse\"") ||
        absl::StrContains(line, "\"/dev/null\"") ||
        absl::StrContains(line, audit_) || absl::StrContains(line, "= -1") ||
        (absl::StrContains(line, "\"/sys/class/bdi/") &&
         absl::StrContains(line, "/read_ahead_kb\""))) {
      continue;  // the FUSE device, libfuse making sure fds 0-2 exist, the
                 // audit log, failed calls, the mount's read-ahead setting
    }
    if (absl::StrContains(line, "open")) ++opens;
    EXPECT_THAT(line, Not(HasSubstr("O_WRONLY")));
    EXPECT_THAT(line, Not(HasSubstr("O_RDWR")));
    EXPECT_THAT(line, Not(HasSubstr("O_CREAT")));
    for (const char* call : {"creat(", "mkdir", "mknod", "rename", "link(",
                             "linkat(", "unlink", "truncate("}) {
      EXPECT_THAT(line, Not(HasSubstr(call)));
    }
  }
  EXPECT_GT(opens, 5);  // the trace did see the daemon's reads
  EXPECT_EQ(RunTool({"sh", "-c", list_all}).out, before);
}

TEST_F(MountBehaviorTest, IdleKeysAreDroppedAndFetchedAgain) {
  const std::vector<uint8_t> data = RandomBytes(1000, 9);
  Seal("core.dce", data);
  StartMount({"idle=1", "direct_io"});
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
  EXPECT_EQ(Xattr(mnt_ + "/core", "user.dumpcrypt.key_status"), "available");
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_EQ(Xattr(mnt_ + "/core", "user.dumpcrypt.key_status"), "untried");
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
  EXPECT_EQ(CountEvents("key_fetched"), 2);
}

// ReadAheadKb is the read-ahead window of the file system at `path`.
std::string ReadAheadKb(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "stat failed";
  std::ifstream in(absl::StrCat("/sys/class/bdi/", major(st.st_dev), ":",
                                minor(st.st_dev), "/read_ahead_kb"));
  std::string kib;
  in >> kib;
  return kib;
}

TEST_F(MountBehaviorTest, MountSetsItsReadAheadWindow) {
  auto window = [&] { return ReadAheadKb(mnt_); };
  StartMount();
  EXPECT_EQ(window(), "2048");
  mount_->Unmount();
  StartMount({"read_ahead_kb=512"});
  EXPECT_EQ(window(), "512");
  mount_->Unmount();
  StartMount({"read_ahead_kb=4096"});  // above the 1 MiB of a request
  EXPECT_EQ(window(), "4096");
  mount_->Unmount();
  StartMount({"read_ahead_kb=0"});
  EXPECT_EQ(window(), "128");  // the kernel's own default for FUSE
}

// /proc/self/mountinfo escapes these characters of a mountpoint's name:
// the mount must still find itself there.
TEST_F(MountBehaviorTest, ReadAheadIsSetWhereTheMountpointNameIsEscaped) {
  const std::string odd = dir_.File("back\\slash tab\tnew\nline");
  ASSERT_EQ(mkdir(odd.c_str(), 0755), 0);
  auto mount = Mount::Start(src_, odd, {"keystore=" + keystore_}, log_);
  ASSERT_TRUE(mount.ok()) << mount.status();
  EXPECT_EQ(ReadAheadKb(odd), "2048");
  EXPECT_THAT(Log(), Not(HasSubstr("read-ahead stays")));
  (*mount)->Unmount();
}

// mount(8) runs helpers with a fixed PATH, so dumpcryptfs must be installed
// where it looks; the test links the built binary into /usr/local/bin unless
// one is installed there already, and removes its link afterwards.
TEST_F(MountBehaviorTest, MountHelperWorks) {
  const std::vector<uint8_t> data = RandomBytes(1000, 10);
  Seal("core.dce", data);
  const std::string installed = "/usr/local/bin/dumpcryptfs";
  struct LinkGuard {
    std::string path;
    ~LinkGuard() {
      if (!path.empty()) unlink(path.c_str());
    }
  } guard;
  if (access(installed.c_str(), X_OK) != 0) {
    char* built = realpath(ToolPath("dumpcryptfs").c_str(), nullptr);
    ASSERT_NE(built, nullptr);
    ASSERT_EQ(symlink(built, installed.c_str()), 0);
    free(built);
    guard.path = installed;
  }
  // Detached, the daemon runs in /: a relative key store must still be found
  // when the first open reads it.
  ToolResult r =
      RunTool({"sh", "-c",
               "cd \"$0\" && exec mount -t fuse.dumpcryptfs src mnt -o "
               "keystore=keystore,suffix=.dce,rw",
               dir_.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsMounted(mnt_));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/core") == data);
  ToolResult options = RunTool({"findmnt", "-n", "-o", "OPTIONS", mnt_});
  EXPECT_THAT(options.out,
              ::testing::StartsWith("ro,"));  // "rw" asked, "ro" given
  EXPECT_EQ(RunTool({"fusermount3", "-u", mnt_}).exit_code, 0);
  for (int i = 0; i < 100 && IsMounted(mnt_); ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(IsMounted(mnt_));
}

TEST_F(MountBehaviorTest, MountpointInsideTheSourceIsRefusedOverItIsServed) {
  // Inside, a walk into the mount would take every serving thread into the
  // daemon's own mount and hang: refused before anything is mounted.
  const std::string inner = src_ + "/plain";
  ASSERT_EQ(mkdir(inner.c_str(), 0755), 0);
  ToolResult r = RunTool(
      {ToolPath("dumpcryptfs"), "-o", "keystore=" + keystore_, src_, inner});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("inside the source folder"));
  if (IsMounted(inner)) {  // the failure this guards against; clean it up
    ADD_FAILURE() << "mounted inside its source";
    RunTool({"fusermount3", "-u", "-z", inner});
  }
  // Over the source itself the daemon reads through the folder it opened.
  const std::vector<uint8_t> data = RandomBytes(10000, 11);
  Seal("core.dce", data);
  auto over = Mount::Start(src_, src_, {"keystore=" + keystore_}, log_);
  ASSERT_TRUE(over.ok()) << over.status() << "\n" << Log();
  EXPECT_TRUE(ReadFileOrFail(src_ + "/core") == data);
  EXPECT_EQ((*over)->Unmount(), 0);
}

}  // namespace
}  // namespace dumpcrypt::testing
