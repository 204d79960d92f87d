#include "envelope/rekey.h"

#include <map>

#include "envelope/envelope_opener.h"
#include "envelope/envelope_writer.h"
#include "envelope/file_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::ReadFileOrFail;
using testing::TempDir;

// KeyMap resolves keyIDs from a map.
class KeyMap : public KeyResolver {
 public:
  void Add(const std::string& id, uint32_t seed) {
    keys_[id] = RandomBytes(32, seed);
  }
  SecretBytes Kek(const std::string& id) {
    return SecretBytes::CopyOf(keys_.at(id));
  }
  absl::StatusOr<SecretBytes> Resolve(const KeyRef& ref) override {
    auto it = keys_.find(ref.key_id);
    if (it == keys_.end()) return absl::NotFoundError("not in the map");
    return SecretBytes::CopyOf(it->second);
  }
  std::string Describe() const override { return "map"; }

 private:
  std::map<std::string, std::vector<uint8_t>> keys_;
};

SlotEdit AddKey(KeyMap& keys, const std::string& id) {
  return [&keys, id](
             const std::vector<KeySlot>& slots,
             const SecretBytes& dk) -> absl::StatusOr<std::vector<KeySlot>> {
    std::vector<KeySlot> out = slots;
    absl::StatusOr<KeySlot> slot = MakeKeySlot({"p", id}, keys.Kek(id), dk);
    if (!slot.ok()) return slot.status();
    out.push_back(*slot);
    return out;
  };
}

SlotEdit KeepOnly(const std::string& name) {
  return [name](const std::vector<KeySlot>& slots,
                const SecretBytes&) -> absl::StatusOr<std::vector<KeySlot>> {
    std::vector<KeySlot> out;
    for (const KeySlot& s : slots) {
      if (SlotMatches(s, name)) out.push_back(s);
    }
    return out;
  };
}

class RekeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.Add("old", 1);
    keys_.Add("new", 2);
  }
  void Seal(size_t size, uint32_t prefix = 0) {
    plain_ = RandomBytes(size, 9);
    SealOptions options;
    options.prefix_bytes = prefix;
    ASSERT_OK(testing::SealBuffer(path_, plain_, options, keys_.Kek("old"),
                                  {"p", "old"}));
  }
  // Opens with the one key `id` and reads everything back.
  absl::Status ReadsBackWith(const std::string& id) {
    KeyMap only;
    only.Add(id, id == "old" ? 1 : 2);
    absl::StatusOr<std::unique_ptr<EnvelopeView>> view =
        OpenEnvelopeFile(path_, only);
    if (!view.ok()) return view.status();
    absl::StatusOr<std::vector<uint8_t>> all = testing::ReadAll(**view);
    if (!all.ok()) return all.status();
    if (*all != plain_) return absl::InternalError("different bytes");
    return absl::OkStatus();
  }

  TempDir dir_;
  const std::string path_ = dir_.File("core.dce");
  KeyMap keys_;
  std::vector<uint8_t> plain_;
};

TEST_F(RekeyTest, AddsAndRemovesSlotsInPlaceLeavingTheDataAsItWas) {
  Seal(300000);
  const std::vector<uint8_t> before = ReadFileOrFail(path_);
  ASSERT_OK_AND_ASSIGN(RekeyResult added,
                       RekeyEnvelope(path_, keys_, AddKey(keys_, "new")));
  EXPECT_FALSE(added.copied);
  EXPECT_EQ(added.before.size(), 1u);
  EXPECT_EQ(added.after.size(), 2u);
  EXPECT_OK(ReadsBackWith("old"));
  EXPECT_OK(ReadsBackWith("new"));
  const std::vector<uint8_t> after = ReadFileOrFail(path_);
  ASSERT_EQ(after.size(), before.size());
  EXPECT_TRUE(
      std::equal(before.begin() + 4096, before.end(), after.begin() + 4096));

  ASSERT_OK_AND_ASSIGN(RekeyResult removed,
                       RekeyEnvelope(path_, keys_, KeepOnly("new")));
  EXPECT_EQ(removed.after.size(), 1u);
  EXPECT_EQ(ReadsBackWith("old").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_OK(ReadsBackWith("new"));
  // The bytes the old header left past the new one's end are zeros again.
  const std::vector<uint8_t> last = ReadFileOrFail(path_);
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, OpenReadOnly(path_));
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader h, ReadHeader(fd.get()));
  EXPECT_TRUE(std::all_of(last.begin() + h.header_length, last.begin() + 4096,
                          [](uint8_t b) { return b == 0; }));
}

TEST_F(RekeyTest, AHeaderThatOutgrowsItsPageIsWrittenAsANewFile) {
  Seal(100000, /*prefix=*/3900);
  ASSERT_OK_AND_ASSIGN(RekeyResult added,
                       RekeyEnvelope(path_, keys_, AddKey(keys_, "new")));
  EXPECT_TRUE(added.copied);
  EXPECT_OK(ReadsBackWith("old"));
  EXPECT_OK(ReadsBackWith("new"));
}

TEST_F(RekeyTest, RefusesWhatWouldLoseTheFileAndLeavesItAsItWas) {
  Seal(5000);
  const std::vector<uint8_t> before = ReadFileOrFail(path_);
  EXPECT_THAT(
      RekeyEnvelope(path_, keys_, KeepOnly("nothing")).status().message(),
      HasSubstr("no slot would be left"));
  KeyMap strangers;
  strangers.Add("old", 77);
  EXPECT_EQ(
      RekeyEnvelope(path_, strangers, AddKey(keys_, "new")).status().code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReadFileOrFail(path_), before);

  std::vector<uint8_t> tampered = before;
  const size_t header_length = tampered[12] | tampered[13] << 8;
  tampered[header_length - 1] ^= 1;  // the header tag
  testing::WriteFileOrDie(path_, tampered);
  EXPECT_EQ(RekeyEnvelope(path_, keys_, AddKey(keys_, "new")).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadFileOrFail(path_), tampered);

  testing::WriteFileOrDie(path_, RandomBytes(5000, 3));
  EXPECT_EQ(RekeyEnvelope(path_, keys_, AddKey(keys_, "new")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dumpcrypt
