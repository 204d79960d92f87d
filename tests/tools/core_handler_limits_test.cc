// core-handler's limits with the real kernel calling it: a full file
// system, the rate limit and max_size; and no file anywhere holds the
// plaintext while a core is sealed.
#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/run_tool.h"
#include "tests/tools/core_handler_fixture.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Holds whether a file's bytes contain `needle`, reading it through `path`
// (which may be a /proc/PID/fd link to a file no folder names).
bool FileHolds(const std::string& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  std::string carry;
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    std::string chunk = carry + std::string(buf.data(), in.gcount());
    if (chunk.find(needle) != std::string::npos) return true;
    carry = chunk.substr(chunk.size() - std::min(chunk.size(), needle.size()));
  }
  return false;
}

// PlaintextWatch looks, until stopped, at every regular file the handler
// has open (named or not: an unnamed temporary file too) and, on a thread
// of its own, at every file written under `folders` since it started
// (other tests' own folders, /tmp/dumpcrypt-test-*, aside) for `marker`.
class PlaintextWatch {
 public:
  PlaintextWatch(std::string marker, std::vector<std::string> folders)
      : marker_(std::move(marker)), folders_(std::move(folders)) {
    handler_thread_ = std::thread([this] {
      while (!stop_) LookAtTheHandler();
    });
    folder_thread_ = std::thread([this] {
      while (!stop_) LookInTheFolders();
    });
  }
  ~PlaintextWatch() { Stop(); }
  void Stop() {
    stop_ = true;
    if (handler_thread_.joinable()) handler_thread_.join();
    if (folder_thread_.joinable()) folder_thread_.join();
  }
  // After Stop: the files that held the marker, and those the handler had
  // open.
  std::set<std::string> Hits() const {
    std::set<std::string> all = handler_hits_;
    all.insert(folder_hits_.begin(), folder_hits_.end());
    return all;
  }
  const std::set<std::string>& handler_files() const { return handler_files_; }

 private:
  void LookAtTheHandler() {
    std::error_code ec;
    for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end;
         proc.increment(ec)) {
      const std::string cmdline = ReadText(proc->path() / "cmdline");
      if (cmdline.find("core-handler") == std::string::npos) continue;
      std::error_code e2;
      for (fs::directory_iterator fd(proc->path() / "fd", e2); !e2 && fd != end;
           fd.increment(e2)) {
        struct stat st;
        if (stat(fd->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
          continue;
        }
        std::error_code e3;
        const std::string target = fs::read_symlink(fd->path(), e3).string();
        handler_files_.insert(target);
        if (FileHolds(fd->path(), marker_)) handler_hits_.insert(target);
      }
    }
  }
  void LookInTheFolders() {
    for (const std::string& folder : folders_) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(
               folder, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        if (it->is_directory(e2) &&
            absl::StartsWith(it->path().filename().string(),
                             "dumpcrypt-test-")) {
          it.disable_recursion_pending();
          continue;
        }
        if (!it->is_regular_file(e2)) continue;
        if (it->last_write_time(e2) < started_) continue;
        if (FileHolds(it->path(), marker_)) folder_hits_.insert(it->path());
      }
    }
  }

  const std::string marker_;
  const std::vector<std::string> folders_;
  const fs::file_time_type started_ =
      fs::file_time_type::clock::now() - std::chrono::seconds(1);
  std::atomic<bool> stop_{false};
  std::set<std::string> handler_files_, handler_hits_, folder_hits_;
  std::thread handler_thread_, folder_thread_;
};

TEST_F(CoreHandlerTest, NoFileEverHoldsThePlaintextOfACoreBeingSealed) {
  // 128 MiB filled with a marker no file holds before the crash (it is in
  // the crashing process's environment, which no header records).
  const std::string filler = dir_.File("filler");
  WriteText(filler + ".c", R"(#include <stdlib.h>
#include <string.h>
int main(void) {
  const char* m = getenv("MARKER");
  size_t len = strlen(m), n = (size_t)128 << 20;
  char* p = malloc(n);
  for (size_t i = 0; i + len <= n; i += len) memcpy(p + i, m, len);
  abort();
})");
  ToolResult r = RunTool({"cc", "-O1", "-o", filler, filler + ".c"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string marker =
      absl::StrCat("plaintext-probe-", std::random_device()(), "-",
                   std::random_device()(), "-");
  UseHandler();
  const size_t events_before = Events().size();
  PlaintextWatch watch(marker, {"/tmp", "/var/tmp", "/dev/shm", dumps_});
  CrashAndWait(
      [&] {
        setenv("MARKER", marker.c_str(), 1);
        execl(filler.c_str(), filler.c_str(), static_cast<char*>(nullptr));
      },
      absl::Seconds(60));
  ASSERT_FALSE(HasFailure()) << "the kernel dumped no core";
  absl::SleepFor(absl::Milliseconds(200));  // one more look at the folders
  watch.Stop();
  ASSERT_GT(Events().size(), events_before);
  const nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_sealed") << e;
  EXPECT_GE(e["size"], 128 << 20);
  // The watch saw the handler write: its file in the dump folder.
  bool saw_output = false;
  for (const std::string& f : watch.handler_files()) {
    saw_output |= absl::StartsWith(f, dumps_);
  }
  EXPECT_TRUE(saw_output) << "the watch never saw the handler's file";
  const std::set<std::string> hits = watch.Hits();
  EXPECT_TRUE(hits.empty()) << *hits.begin();
  // The sealed dump holds it, decrypted.
  r = Run({"extract", "--keystore", ks_, std::string(e["file"]),
           dir_.File("core")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FileHolds(dir_.File("core"), marker));
}

TEST_F(CoreHandlerTest, AFullFileSystemAndTheRateLimitDropDumpsLeavingNothing) {
  ASSERT_EQ(mkdir(dumps_.c_str(), 0700), 0);
  if (mount("tmpfs", dumps_.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{dumps_};
  WriteConfig("keystore = \"ks\"\nkeep_free = \"256K\"");
  UseHandler();
  Crash("", 8);  // an 8 MiB core into 2 MiB
  nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_no_space") << e;
  EXPECT_TRUE(FilesIn(dumps_).empty());
  // The small core fits; a second within the minute is one too many.
  WriteConfig("keystore = \"ks\"\nrate_limit = 1\nrate_interval_s = 600");
  Crash("");
  EXPECT_EQ(Events().back()["event"], "dump_sealed") << Events().back();
  Crash("");
  e = Events().back();
  EXPECT_EQ(e["event"], "dump_dropped_rate_limit") << e;
  EXPECT_EQ(FilesIn(dumps_).size(), 1u);
  // No plaintext anywhere in the folder: the marker crashme writes into its
  // heap is only in the sealed (encrypted) file's plaintext.
  const ToolResult r =
      RunTool({"grep", "-rl", "dumpcrypt-demo-marker", dumps_});
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST_F(CoreHandlerTest, ACoreOverMaxSizeIsCutAndMarkedTruncated) {
  WriteConfig("keystore = \"ks\"\nmax_size = \"64K\"");
  UseHandler();
  Crash("");
  const nlohmann::json e = Events().back();
  EXPECT_EQ(e["event"], "dump_truncated") << e;
  EXPECT_EQ(e["size"], 64 << 10);
  EXPECT_THAT(std::string(e["reason"]), HasSubstr("cut at max_size"));
  const nlohmann::json d = Describe(e["file"]);
  EXPECT_EQ(d["dump"]["truncated"], true);
  EXPECT_EQ(d["size"], 64 << 10);
}

}  // namespace
}  // namespace dumpcrypt::testing
