#include "base/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using Temp = AtomicFile::Temp;
using testing::ReadText;
using testing::WriteText;

// Both ways a file waits for its name: unnamed (O_TMPFILE), and the hidden
// name that file systems without O_TMPFILE get.
class AtomicFileTest : public ::testing::TestWithParam<Temp> {
 protected:
  std::set<std::string> Names() const {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      names.insert(e.path().filename());
    return names;
  }
  static void Put(const AtomicFile& file, const std::string& text) {
    ASSERT_EQ(::write(file.fd(), text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  // OnlyTheHiddenFile is true if the folder holds `file`'s temporary file
  // alone (nothing, for an unnamed one) besides `others`.
  bool OnlyTheHiddenFile(const AtomicFile& file,
                         std::set<std::string> others) const {
    if (GetParam() == Temp::kHidden) {
      if (file.temp_path().find("/.out.dumpcrypt-") == std::string::npos)
        return false;
      others.insert(BaseName(file.temp_path()));
    } else if (!file.temp_path().empty()) {
      return false;
    }
    return Names() == others;
  }

  const testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  const std::string path_ = tmp_.File("out");
};

TEST_P(AtomicFileTest, TheFileGetsItsNameOnlyOnCommit) {
  {
    auto file = AtomicFile::Create(path_, false, GetParam());
    ASSERT_TRUE(file.ok()) << file.status();
    Put(*file, "whole");
    EXPECT_TRUE(OnlyTheHiddenFile(*file, {}));
    ASSERT_TRUE(file->Commit().ok());
    EXPECT_FALSE(file->Commit().ok());
  }
  EXPECT_EQ(Names(), std::set<std::string>{"out"});
  EXPECT_EQ(ReadText(path_), "whole");
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_P(AtomicFileTest, AnUncommittedFileLeavesNothing) {
  {
    auto file = AtomicFile::Create(path_, false, GetParam());
    ASSERT_TRUE(file.ok()) << file.status();
    Put(*file, "half");
    AtomicFile moved(*std::move(file));
    EXPECT_TRUE(OnlyTheHiddenFile(moved, {}));
  }
  EXPECT_TRUE(Names().empty());
}

TEST_P(AtomicFileTest, WithoutOverwriteAFileThereIsKept) {
  WriteText(path_, "old");
  EXPECT_EQ(AtomicFile::Create(path_, false, GetParam()).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  {
    auto file = AtomicFile::Create(path_, false, GetParam());
    ASSERT_TRUE(file.ok()) << file.status();
    Put(*file, "new");
    WriteText(path_, "came meanwhile");
    EXPECT_EQ(file->Commit().code(), absl::StatusCode::kAlreadyExists);
  }
  EXPECT_EQ(Names(), std::set<std::string>{"out"});
  EXPECT_EQ(ReadText(path_), "came meanwhile");
}

TEST_P(AtomicFileTest, OverwriteReplacesTheFileWhole) {
  WriteText(path_, "old and longer");
  {
    auto file = AtomicFile::Create(path_, true, GetParam());
    ASSERT_TRUE(file.ok()) << file.status();
    Put(*file, "new");
    EXPECT_EQ(ReadText(path_), "old and longer");
    ASSERT_TRUE(file->Commit().ok());
  }
  EXPECT_EQ(Names(), std::set<std::string>{"out"});
  EXPECT_EQ(ReadText(path_), "new");
}

TEST_P(AtomicFileTest, AFolderIsNoFileName) {
  EXPECT_EQ(AtomicFile::Create(dir_, true, GetParam()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(
      AtomicFile::Create(dir_ + "/missing/out", false, GetParam()).ok());
  EXPECT_TRUE(Names().empty());
}

INSTANTIATE_TEST_SUITE_P(BothWays, AtomicFileTest,
                         ::testing::Values(Temp::kUnnamed, Temp::kHidden),
                         [](const auto& info) {
                           return info.param == Temp::kUnnamed ? "Unnamed"
                                                               : "Hidden";
                         });

}  // namespace
}  // namespace dumpcrypt
