#include "fs/dump_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "fs/audit_log.h"
#include "fs/errno_map.h"
#include "fs/open_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/local_keystore.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::SealBuffer;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

TreeOptions Showing(const std::string& source, const std::string& suffix) {
  TreeOptions options;
  options.source = source;
  options.suffix = suffix;
  return options;
}

// Counts calls, so tests can show which operations need a key.
class CountingResolver : public KeyResolver {
 public:
  explicit CountingResolver(std::unique_ptr<KeyResolver> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override {
    ++calls;
    return inner_->Resolve(ref);
  }
  std::string Describe() const override { return inner_->Describe(); }
  std::atomic<int> calls{0};

 private:
  std::unique_ptr<KeyResolver> inner_;
};

class DumpTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((src_ + "/nested").c_str(), 0755), 0);
    auto store = LocalKeyStore::OpenOrCreate(dir_.File("ks"));
    ASSERT_OK(store.status());
    ASSERT_OK((*store)->Add("k1", kek_));
    auto counting =
        std::make_unique<CountingResolver>(std::move(store).value());
    resolver_ = counting.get();
    keys_ =
        std::make_unique<KeyCache>(std::move(counting), KeyCache::Options());

    core_ = RandomBytes(100000, 1);
    SealOptions prefixed;
    prefixed.prefix_bytes = 4096;
    ASSERT_OK(
        SealBuffer(src_ + "/core.dce", core_, prefixed, kek_, {"local", "k1"}));
    ASSERT_OK(SealBuffer(src_ + "/nested/deep.dce", core_, SealOptions(), kek_,
                         {"local", "k1"}));
    // An envelope whose stripped name is taken keeps its own name.
    ASSERT_OK(SealBuffer(src_ + "/dup.dce", core_, SealOptions(), kek_,
                         {"local", "k1"}));
    testing::WriteFileOrDie(src_ + "/dup", std::vector<uint8_t>{'p'});
    // An envelope without the suffix is decrypted under its own name.
    ASSERT_OK(SealBuffer(src_ + "/vmkernel-zdump.1", core_, SealOptions(), kek_,
                         {"local", "k1"}));
    // A plain file with the suffix stays as it is.
    testing::WriteFileOrDie(src_ + "/notes.dce",
                            std::vector<uint8_t>{'h', 'i'});
    ASSERT_OK(SealBuffer(src_ + "/nokey.dce", core_, SealOptions(),
                         SecretBytes::CopyOf(RandomBytes(32, 5)),
                         {"kms-b", "k-absent"}));
    ASSERT_EQ(symlink("core", (src_ + "/latest").c_str()), 0);
    auto tree = DumpTree::Create(Showing(src_, ".dce"), keys_.get(), nullptr);
    ASSERT_OK(tree.status());
    tree_ = std::move(tree).value();
  }

  uint64_t LookupPath(const std::string& path) {
    uint64_t ino = DumpTree::kRootIno;
    size_t start = 0;
    while (start < path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      auto entry = tree_->Lookup(ino, path.substr(start, end - start));
      if (!entry.ok()) return 0;
      ino = entry->ino;
      start = end + 1;
    }
    return ino;
  }

  std::vector<uint8_t> ReadAllOf(uint64_t ino) {
    auto file = tree_->Open(ino, Caller{});
    EXPECT_TRUE(file.ok()) << file.status();
    if (!file.ok()) return {};
    std::vector<uint8_t> out(tree_->GetAttr(ino)->st_size);
    auto got = (*file)->Read(0, absl::MakeSpan(out));
    EXPECT_TRUE(got.ok()) << got.status();
    return out;
  }

  TempDir dir_;
  const std::string src_ = dir_.File("src");
  SecretBytes kek_ = SecretBytes::CopyOf(RandomBytes(32, 2));
  CountingResolver* resolver_ = nullptr;
  std::unique_ptr<KeyCache> keys_;
  std::unique_ptr<DumpTree> tree_;
  std::vector<uint8_t> core_;
};

// "latest.dce -> real.dce" must not dangle where real.dce shows as "real".
TEST_F(DumpTreeTest, LinksToEnvelopesPointAtTheirShownNames) {
  ASSERT_EQ(symlink("core.dce", (src_ + "/newest.dce").c_str()), 0);
  ASSERT_EQ(symlink("deep.dce", (src_ + "/nested/last").c_str()), 0);
  ASSERT_EQ(symlink("./core.dce", (src_ + "/dotted").c_str()), 0);
  EXPECT_EQ(*tree_->ReadLink(LookupPath("newest.dce")), "core");
  EXPECT_EQ(*tree_->ReadLink(LookupPath("nested/last")), "deep");
  EXPECT_EQ(*tree_->ReadLink(LookupPath("latest")), "core");  // not an envelope
  EXPECT_EQ(*tree_->ReadLink(LookupPath("dotted")), "./core.dce");  // a path
}

TEST_F(DumpTreeTest, ShowsEnvelopesUnderStrippedNames) {
  ASSERT_OK_AND_ASSIGN(auto entries, tree_->ReadDir(DumpTree::kRootIno));
  std::vector<std::string> names;
  for (const auto& e : entries) {
    EXPECT_NE(e.ino, 0u) << e.name;
    names.push_back(e.name);
  }
  EXPECT_THAT(names, UnorderedElementsAre(".", "..", "core", "dup", "dup.dce",
                                          "latest", "nested", "nokey",
                                          "notes.dce", "vmkernel-zdump.1"));
  EXPECT_NE(LookupPath("core"), 0u);
  EXPECT_EQ(LookupPath("core.dce"), 0u);  // shown as "core" only
  EXPECT_NE(LookupPath("dup.dce"), 0u);
  EXPECT_EQ(tree_->GetAttr(LookupPath("dup"))->st_size, 1);
  EXPECT_NE(LookupPath("nested/deep"), 0u);
  EXPECT_EQ(LookupPath("missing"), 0u);
  EXPECT_EQ(tree_->Lookup(DumpTree::kRootIno, "..").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DumpTreeTest, AttributesNeedNoKey) {
  const uint64_t core = LookupPath("core");
  ASSERT_OK_AND_ASSIGN(struct stat st, tree_->GetAttr(core));
  EXPECT_EQ(st.st_size, 100000);  // the first 4096 in clear, the rest sealed
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0222, 0u);
  EXPECT_EQ(tree_->GetAttr(LookupPath("vmkernel-zdump.1"))->st_size, 100000);
  EXPECT_EQ(tree_->GetAttr(LookupPath("notes.dce"))->st_size, 2);
  EXPECT_EQ(tree_->GetAttr(DumpTree::kRootIno)->st_mode & 0222, 0u);
  ASSERT_OK_AND_ASSIGN(std::string target,
                       tree_->ReadLink(LookupPath("latest")));
  EXPECT_EQ(target, "core");
  EXPECT_EQ(*tree_->GetXattr(core, "user.dumpcrypt.key_id"), "k1");
  EXPECT_EQ(*tree_->GetXattr(core, "user.dumpcrypt.provider"), "local");
  EXPECT_EQ(*tree_->GetXattr(core, "user.dumpcrypt.sector_size"), "4096");
  EXPECT_EQ(*tree_->GetXattr(core, "user.dumpcrypt.integrity"), "aes-gmac");
  EXPECT_EQ(*tree_->GetXattr(core, "user.dumpcrypt.key_status"), "untried");
  EXPECT_EQ(*tree_->GetXattr(core, "user.dumpcrypt.slots"),
            "keyID 'k1' (provider 'local')");
  EXPECT_EQ(tree_->ListXattr(core)->size(), 12u);
  EXPECT_TRUE(tree_->ListXattr(LookupPath("notes.dce"))->empty());
  EXPECT_EQ(tree_->GetXattr(core, "user.other").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(resolver_->calls.load(), 0);
}

TEST_F(DumpTreeTest, OpenResolvesTheKeyOnceAndReads) {
  std::vector<uint8_t> expected(4096, 0);
  EXPECT_TRUE(ReadAllOf(LookupPath("core")) == core_);
  EXPECT_TRUE(ReadAllOf(LookupPath("nested/deep")) == core_);
  EXPECT_TRUE(ReadAllOf(LookupPath("dup.dce")) == core_);
  EXPECT_EQ(resolver_->calls.load(), 1);
  EXPECT_EQ(*tree_->GetXattr(LookupPath("core"), "user.dumpcrypt.key_status"),
            "available");
  std::vector<uint8_t> notes = ReadAllOf(LookupPath("notes.dce"));
  EXPECT_EQ(std::string(notes.begin(), notes.end()), "hi");
}

TEST_F(DumpTreeTest, MissingKeyIsUnauthenticatedAndOthersStillOpen) {
  const uint64_t nokey = LookupPath("nokey");
  auto file = tree_->Open(nokey, Caller{});
  EXPECT_EQ(file.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrnoFromStatus(file.status()), ENOKEY);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("nokey.dce"));
  EXPECT_THAT(std::string(file.status().message()),
              HasSubstr("keyID 'k-absent' (provider 'kms-b')"));
  EXPECT_THAT(*tree_->GetXattr(nokey, "user.dumpcrypt.key_status"),
              HasSubstr("missing: "));
  EXPECT_TRUE(ReadAllOf(LookupPath("core")) == core_);
}

TEST_F(DumpTreeTest, TamperedSectorFailsOnlyItsRange) {
  {
    int fd = open((src_ + "/nested/deep.dce").c_str(), O_RDWR);
    uint8_t b = 0;
    ASSERT_EQ(pread(fd, &b, 1, 4096 + 3 * (4096 + 16) + 7), 1);
    b ^= 1;
    ASSERT_EQ(pwrite(fd, &b, 1, 4096 + 3 * (4096 + 16) + 7), 1);
    close(fd);
  }
  ASSERT_OK_AND_ASSIGN(auto file,
                       tree_->Open(LookupPath("nested/deep"), Caller{}));
  std::vector<uint8_t> buf(4096);
  auto bad = file->Read(3 * 4096 + 100, absl::MakeSpan(buf.data(), 10));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ErrnoFromStatus(bad.status()), EIO);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("nested/deep.dce"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("sector 3 "));
  ASSERT_OK_AND_ASSIGN(size_t got, file->Read(4 * 4096, absl::MakeSpan(buf)));
  EXPECT_EQ(got, 4096u);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), core_.begin() + 4 * 4096));
}

TEST_F(DumpTreeTest, BrokenEnvelopeHasNoSizeSaysWhyAndFailsToOpen) {
  std::vector<uint8_t> broken(kEnvelopeMagic.begin(), kEnvelopeMagic.end());
  broken.resize(200, 0xee);
  testing::WriteFileOrDie(src_ + "/broken.dce", broken);
  const uint64_t ino = LookupPath("broken");
  ASSERT_NE(ino, 0u);
  EXPECT_EQ(tree_->GetAttr(ino)->st_size, 0);
  EXPECT_THAT(*tree_->ListXattr(ino), ElementsAre("user.dumpcrypt.error"));
  ASSERT_OK_AND_ASSIGN(std::string why,
                       tree_->GetXattr(ino, "user.dumpcrypt.error"));
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(tree_->GetXattr(ino, "user.dumpcrypt.key_id").status().code(),
            absl::StatusCode::kFailedPrecondition);
  const absl::Status open = tree_->Open(ino, Caller{}).status();
  EXPECT_EQ(open.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(open.message()), HasSubstr(why));
  // The failed open is audited.
  ASSERT_OK_AND_ASSIGN(auto audit, AuditLog::Open(dir_.File("audit")));
  ASSERT_OK_AND_ASSIGN(
      auto audited,
      DumpTree::Create(Showing(src_, ".dce"), keys_.get(), audit.get()));
  auto entry = audited->Lookup(DumpTree::kRootIno, "broken");
  ASSERT_OK(entry.status());
  EXPECT_FALSE(audited->Open(entry->ino, Caller{7, 8, 9, {}}).ok());
  const std::vector<uint8_t> line = testing::ReadFileOrFail(dir_.File("audit"));
  EXPECT_THAT(std::string(line.begin(), line.end()),
              AllOf(HasSubstr("\"event\":\"integrity_failure\""),
                    HasSubstr("\"path\":\"broken.dce\""),
                    HasSubstr("\"uid\":7"), HasSubstr(why)));
  // A plain file has no such attribute.
  EXPECT_EQ(tree_->GetXattr(LookupPath("notes.dce"), "user.dumpcrypt.error")
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// Whoever the file modes let in, only the policy's callers decrypt (grants
// scoped to a provider or keyID only where a slot names it); the others ask
// for no key and are audited.
TEST_F(DumpTreeTest, OnlyThoseTheDecryptPolicyNamesOpenEnvelopes) {
  TreeOptions options = Showing(src_, ".dce");
  using Scope = DecryptGrant::Scope;
  // core.dce's one slot is keyID 'k1' of provider 'local'.
  options.node.decrypt = {1000,
                          {{false, 2000, Scope::kAll, ""},
                           {true, 3000, Scope::kAll, ""},
                           {false, 5000, Scope::kKeyId, "k1"},
                           {true, 6000, Scope::kProvider, "local"},
                           {false, 4000, Scope::kKeyId, "k2"},
                           {true, 5, Scope::kProvider, "kms"}}};
  ASSERT_OK_AND_ASSIGN(auto audit, AuditLog::Open(dir_.File("audit")));
  ASSERT_OK_AND_ASSIGN(auto tree,
                       DumpTree::Create(options, keys_.get(), audit.get()));
  auto core = tree->Lookup(DumpTree::kRootIno, "core");
  auto notes = tree->Lookup(DumpTree::kRootIno, "notes.dce");
  ASSERT_OK(core.status());
  ASSERT_OK(notes.status());
  for (const Caller& allowed :
       {Caller{0, 0, 1, {}}, Caller{1000, 1000, 1, {}}, Caller{2000, 5, 1, {}},
        Caller{4000, 3000, 1, {}}, Caller{4000, 5, 1, {6, 3000}},
        Caller{5000, 5, 1, {}}, Caller{4000, 5, 1, {6000}}}) {
    const absl::Status status = tree->Open(core->ino, allowed).status();
    EXPECT_TRUE(status.ok()) << allowed.uid << ": " << status;
  }
  const int calls = resolver_->calls;
  const absl::Status refused =
      tree->Open(core->ino, Caller{4000, 5, 77, {6}}).status();
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  EXPECT_THAT(refused.message(),
              AllOf(HasSubstr("core.dce: uid 4000 may not decrypt"),
                    HasSubstr("(who may: root, uid 1000, uid 2000, gid 3000, "
                              "uid 5000, gid 6000;")));
  EXPECT_EQ(resolver_->calls, calls);
  EXPECT_OK(tree->Open(notes->ino, Caller{4000, 5, 77, {6}}).status());
  const std::vector<uint8_t> log = testing::ReadFileOrFail(dir_.File("audit"));
  EXPECT_THAT(std::string(log.begin(), log.end()),
              AllOf(HasSubstr("\"event\":\"decrypt_refused\""),
                    HasSubstr("\"pid\":77")));
}

TEST_F(DumpTreeTest, ForgetReleasesInodes) {
  const size_t before = tree_->InodeCount();
  const uint64_t a = LookupPath("core");
  EXPECT_EQ(LookupPath("core"), a);  // the same source object, the same inode
  EXPECT_EQ(tree_->InodeCount(), before + 1);
  tree_->Forget(a, 1);
  EXPECT_EQ(tree_->InodeCount(), before + 1);
  tree_->Forget(a, 1);
  EXPECT_EQ(tree_->InodeCount(), before);
  EXPECT_EQ(tree_->GetAttr(a).status().code(), absl::StatusCode::kNotFound);
  tree_->Forget(DumpTree::kRootIno, 100);
  EXPECT_OK(tree_->GetAttr(DumpTree::kRootIno).status());
}

TEST_F(DumpTreeTest, OtherSuffixesAndNone) {
  ASSERT_OK(SealBuffer(src_ + "/vm.core.enc", core_, SealOptions(), kek_,
                       {"local", "k1"}));
  auto enc = DumpTree::Create(Showing(src_, ".enc"), keys_.get(), nullptr);
  ASSERT_OK(enc.status());
  EXPECT_OK((*enc)->Lookup(DumpTree::kRootIno, "vm.core").status());
  EXPECT_OK((*enc)
                ->Lookup(DumpTree::kRootIno, "core.dce")
                .status());  // decrypted, own name
  EXPECT_FALSE((*enc)->Lookup(DumpTree::kRootIno, "core").ok());
  auto none = DumpTree::Create(Showing(src_, ""), keys_.get(), nullptr);
  ASSERT_OK(none.status());
  ASSERT_OK_AND_ASSIGN(auto entry,
                       (*none)->Lookup(DumpTree::kRootIno, "core.dce"));
  EXPECT_EQ(entry.attr.st_size, 100000);
}

// A seal writes its envelope under a temporary name and renames it into
// place; something may look the file up before it is complete.
TEST_F(DumpTreeTest, FileThatBecomesAnEnvelopeIsLookedUpAfresh) {
  const std::string temp = src_ + "/.late.dce.tmp";
  testing::WriteFileOrDie(temp, std::vector<uint8_t>(10, 0));
  const uint64_t partial = LookupPath(".late.dce.tmp");
  ASSERT_NE(partial, 0u);
  EXPECT_EQ(tree_->GetAttr(partial)->st_size, 10);
  testing::WriteFileOrDie(temp,
                          testing::ReadFileOrFail(src_ + "/nested/deep.dce"));
  ASSERT_EQ(rename(temp.c_str(), (src_ + "/late.dce").c_str()), 0);

  ASSERT_OK_AND_ASSIGN(auto entry, tree_->Lookup(DumpTree::kRootIno, "late"));
  EXPECT_NE(entry.ino, partial);
  EXPECT_EQ(entry.attr.st_size, 100000);
  EXPECT_TRUE(ReadAllOf(entry.ino) == core_);
  // The kernel's inode for the old version must not serve it as it was.
  auto stale = tree_->Open(partial, Caller{});
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ErrnoFromStatus(stale.status()), ESTALE);
  tree_->Forget(partial, 1);
  EXPECT_EQ(LookupPath("late"), entry.ino);
}

TEST_F(DumpTreeTest, EnvelopeRewrittenInPlaceIsLookedUpAfresh) {
  const uint64_t before = LookupPath("core");
  ASSERT_NE(before, 0u);
  ASSERT_OK(SealBuffer(src_ + "/other.dce", RandomBytes(5000, 9), SealOptions(),
                       kek_, {"local", "k1"}));
  testing::WriteFileOrDie(src_ + "/core.dce",
                          testing::ReadFileOrFail(src_ + "/other.dce"));
  const uint64_t after = LookupPath("core");
  EXPECT_NE(after, before);
  EXPECT_EQ(tree_->GetAttr(after)->st_size, 5000);
  EXPECT_TRUE(ReadAllOf(after) == RandomBytes(5000, 9));
  EXPECT_EQ(tree_->Open(before, Caller{}).status().code(),
            absl::StatusCode::kAborted);
}

// A plain file that grows, such as a log, keeps its inode: `tail -F`
// through the mount must not take it for a new file.
TEST_F(DumpTreeTest, PlainFileThatChangesKeepsItsInode) {
  const uint64_t notes = LookupPath("notes.dce");
  testing::WriteFileOrDie(src_ + "/notes.dce",
                          std::vector<uint8_t>{'h', 'i', '!'});
  EXPECT_EQ(LookupPath("notes.dce"), notes);
  EXPECT_EQ(tree_->GetAttr(notes)->st_size, 3);
  std::vector<uint8_t> got = ReadAllOf(notes);
  EXPECT_EQ(std::string(got.begin(), got.end()), "hi!");
}

TEST(ErrnoMapTest, OneTable) {
  EXPECT_EQ(ErrnoFromStatus(absl::OkStatus()), 0);
  EXPECT_EQ(ErrnoFromStatus(absl::NotFoundError("")), ENOENT);
  EXPECT_EQ(ErrnoFromStatus(absl::UnauthenticatedError("")), ENOKEY);
  EXPECT_EQ(ErrnoFromStatus(absl::DataLossError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(absl::PermissionDeniedError("")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(absl::FailedPreconditionError("")), ENODATA);
  EXPECT_EQ(ErrnoFromStatus(absl::AbortedError("")), ESTALE);
  EXPECT_EQ(ErrnoFromStatus(absl::InternalError("")), EIO);
}

}  // namespace
}  // namespace dumpcrypt
