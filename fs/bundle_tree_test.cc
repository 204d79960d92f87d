#include "fs/bundle_tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_split.h"
#include "fs/open_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/local_keystore.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::TempDir;

struct Member {
  std::string path;
  std::vector<uint8_t> bytes;
};

// WriteTar writes `members` to a pax tar at `path`, in order.
void WriteTar(const std::string& path, const std::vector<Member>& members) {
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const Member& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(m.bytes.size()));
    archive_entry_set_mtime(e, 1700000000, 0);
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    ASSERT_EQ(archive_write_data(a, m.bytes.data(), m.bytes.size()),
              static_cast<la_ssize_t>(m.bytes.size()));
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class BundleTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalKeyStore::OpenOrCreate(dir_.File("ks"));
    ASSERT_OK(store.status());
    ASSERT_OK((*store)->Add("k1", kek_));
    keys_ = std::make_unique<KeyCache>(std::move(store).value(),
                                       KeyCache::Options());
    ASSERT_OK(testing::SealBuffer(dir_.File("sealed"), core_, SealOptions(),
                                  kek_, {"local", "k1"}));
    sealed_ = testing::ReadFileOrFail(dir_.File("sealed"));
  }

  void MakeTree(const std::vector<Member>& members) {
    WriteTar(tar_, members);
    TreeOptions options;
    options.source = tar_;
    auto tree = BundleTree::Create(options, keys_.get(), nullptr);
    ASSERT_OK(tree.status());
    tree_ = std::move(tree).value();
  }

  uint64_t LookupPath(const std::string& path) {
    uint64_t ino = Tree::kRootIno;
    for (absl::string_view name : absl::StrSplit(path, '/')) {
      auto entry = tree_->Lookup(ino, std::string(name));
      if (!entry.ok()) return 0;
      ino = entry->ino;
    }
    return ino;
  }

  std::vector<std::string> Names(uint64_t dir) {
    std::vector<std::string> names;
    auto entries = tree_->ReadDir(dir);
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (entries.ok()) {
      for (const auto& e : *entries) names.push_back(e.name);
    }
    return names;
  }

  absl::StatusOr<std::vector<uint8_t>> ReadAll(uint64_t ino) {
    absl::StatusOr<std::unique_ptr<OpenFile>> file = tree_->Open(ino, Caller{});
    if (!file.ok()) return file.status();
    std::vector<uint8_t> out(tree_->GetAttr(ino)->st_size);
    absl::StatusOr<size_t> got = (*file)->Read(0, absl::MakeSpan(out));
    if (!got.ok()) return got.status();
    out.resize(*got);
    return out;
  }

  TempDir dir_;
  const std::string tar_ = dir_.File("bundle.tar");
  SecretBytes kek_ = SecretBytes::CopyOf(RandomBytes(32, 3));
  const std::vector<uint8_t> core_ = RandomBytes(70000, 4);
  std::vector<uint8_t> sealed_;
  std::unique_ptr<KeyCache> keys_;
  std::unique_ptr<BundleTree> tree_;
};

TEST_F(BundleTreeTest, MembersShowAsAFolderWithEnvelopesDecrypted) {
  const std::vector<uint8_t> log = {'l', 'o', 'g', '\n'};
  MakeTree({{"./core.1.dce", sealed_},
            {"vm/deep/core.2.dce", sealed_},
            {"vmkernel.log", log},
            {"taken.dce", sealed_},
            {"taken", log}});
  EXPECT_THAT(Names(Tree::kRootIno),
              ElementsAre(".", "..", "core.1", "taken", "taken.dce", "vm",
                          "vmkernel.log"));
  EXPECT_THAT(Names(LookupPath("vm")), ElementsAre(".", "..", "deep"));
  for (const char* path : {"core.1", "vm/deep/core.2", "taken.dce"}) {
    const uint64_t ino = LookupPath(path);
    ASSERT_NE(ino, 0u) << path;
    EXPECT_EQ(tree_->GetAttr(ino)->st_size, static_cast<off_t>(core_.size()));
    auto read = ReadAll(ino);
    ASSERT_OK(read.status());
    EXPECT_TRUE(*read == core_) << path;
    EXPECT_EQ(*tree_->GetXattr(ino, "user.dumpcrypt.key_id"), "k1");
  }
  EXPECT_EQ(*ReadAll(LookupPath("vmkernel.log")), log);
  EXPECT_EQ(*ReadAll(LookupPath("taken")), log);

  const struct stat st = *tree_->GetAttr(LookupPath("vmkernel.log"));
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mode & 0222, 0u);
  EXPECT_TRUE(S_ISDIR(tree_->GetAttr(LookupPath("vm/deep"))->st_mode));
  EXPECT_EQ(LookupPath("core.1.dce"), 0u);
}

TEST_F(BundleTreeTest, PathsThatLeaveTheBundleAndClashesAreSkipped) {
  const std::vector<uint8_t> a = {'a'}, b = {'b'};
  MakeTree({{"../outside", a},
            {"x/../../up", a},
            {"/etc/abs", a},
            {"same", a},
            {"same", b},
            {"d", a},
            {"d/e", b}});
  EXPECT_THAT(Names(Tree::kRootIno), ElementsAre(".", "..", "d", "same"));
  EXPECT_EQ(*ReadAll(LookupPath("same")), b);  // the later member wins
  EXPECT_EQ(*ReadAll(LookupPath("d")), a);     // the folder d/ is not made
}

TEST_F(BundleTreeTest, ADamagedOrKeylessMemberFailsOnlyItself) {
  std::vector<uint8_t> tampered = sealed_;
  tampered[tampered.size() - 100] ^= 1;
  std::vector<uint8_t> keyless;
  const std::string other = dir_.File("other");
  ASSERT_OK(testing::SealBuffer(other, core_, SealOptions(),
                                SecretBytes::CopyOf(RandomBytes(32, 9)),
                                {"local", "absent"}));
  keyless = testing::ReadFileOrFail(other);
  std::vector<uint8_t> broken = sealed_;
  broken[8] ^= 0xff;  // the header's version
  MakeTree({{"good.dce", sealed_},
            {"tampered.dce", tampered},
            {"keyless.dce", keyless},
            {"broken.dce", broken}});
  EXPECT_OK(ReadAll(LookupPath("good")).status());
  EXPECT_TRUE(absl::IsDataLoss(ReadAll(LookupPath("tampered")).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(ReadAll(LookupPath("keyless")).status()));
  const uint64_t b = LookupPath("broken");
  ASSERT_NE(b, 0u);
  EXPECT_EQ(tree_->GetAttr(b)->st_size, 0);
  EXPECT_TRUE(absl::IsDataLoss(tree_->Open(b, Caller{}).status()));
  EXPECT_OK(tree_->GetXattr(b, "user.dumpcrypt.error").status());
}

TEST_F(BundleTreeTest, ATarChangedAfterMountingIsNotRead) {
  MakeTree({{"core.dce", sealed_}});
  const uint64_t ino = LookupPath("core");
  ASSERT_OK(ReadAll(ino).status());
  struct timespec times[2] = {{0, UTIME_OMIT}, {1, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, tar_.c_str(), times, 0), 0);
  absl::Status status = tree_->Open(ino, Caller{}).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("mount it again"));
}

TEST_F(BundleTreeTest, CompressedOrNonTarSourcesAreRefused) {
  WriteTar(tar_, {{"core.dce", sealed_}});
  ASSERT_EQ(std::system(("gzip -k " + tar_).c_str()), 0);
  TreeOptions options;
  options.source = tar_ + ".gz";
  absl::Status status =
      BundleTree::Create(options, keys_.get(), nullptr).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("uncompress it first"));
  options.source = dir_.File("sealed");
  status = BundleTree::Create(options, keys_.get(), nullptr).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
}

}  // namespace
}  // namespace dumpcrypt
