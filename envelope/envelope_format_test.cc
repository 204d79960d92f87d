#include "envelope/envelope_format.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

// ProviderSlot is a provider key slot whose wrapped key is 72 `fill` bytes.
KeySlot ProviderSlot(const KeyRef& ref, uint8_t fill) {
  KeySlot slot;
  slot.ref = ref;
  slot.wrapped_key.assign(kWrappedKeySize, fill);
  return slot;
}

EnvelopeHeader SampleHeader() {
  EnvelopeHeader h;
  h.integrity = true;
  h.sector_size = 8192;
  h.prefix_length = 4096;
  h.plaintext_length = 123456789;
  h.data_offset = 8192;
  for (size_t i = 0; i < 16; ++i) h.file_id[i] = static_cast<uint8_t>(i * 7);
  h.slots.push_back(ProviderSlot({"kms-a", "44"}, 0xab));
  h.slots.push_back(ProviderSlot({"", "vmware:key/fqid/x%2Fy"}, 0xcd));
  h.metadata.type = DumpType::kVm;
  h.metadata.world = "vmx";
  h.metadata.created_unix = 1764340000;
  h.metadata.host = "esx-01.example";
  h.metadata.vm_name = "db server ü";
  h.metadata.vm_uuid = "564d1234-5678-9abc-def0-123456789abc";
  h.metadata.original_name = "vmx-zdump.001";
  return h;
}

std::vector<uint8_t> Encoded(EnvelopeHeader h) {
  auto body = EncodeHeader(&h);
  EXPECT_TRUE(body.ok()) << body.status();
  std::vector<uint8_t> bytes = *body;
  bytes.resize(bytes.size() + kHeaderTagSize, 0x5a);
  return bytes;
}

TEST(EnvelopeFormatTest, RoundTripsEveryField) {
  const EnvelopeHeader in = SampleHeader();
  std::vector<uint8_t> bytes = Encoded(in);
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader out, ParseHeader(bytes));
  EXPECT_EQ(out.header_length, bytes.size());
  EXPECT_EQ(out.raw, bytes);
  EXPECT_TRUE(out.integrity);
  EXPECT_EQ(out.sector_size, 8192u);
  EXPECT_EQ(out.prefix_length, 4096u);
  EXPECT_EQ(out.plaintext_length, 123456789u);
  EXPECT_EQ(out.data_offset, 8192u);
  EXPECT_EQ(out.file_id, in.file_id);
  ASSERT_EQ(out.slots.size(), 2u);
  EXPECT_EQ(out.slots[0].ref, (KeyRef{"kms-a", "44"}));
  EXPECT_EQ(out.slots[1].ref.key_id, "vmware:key/fqid/x%2Fy");
  EXPECT_EQ(out.slots[1].wrapped_key, in.slots[1].wrapped_key);
  EXPECT_EQ(out.metadata.type, DumpType::kVm);
  EXPECT_EQ(out.metadata.world, "vmx");
  EXPECT_EQ(out.metadata.created_unix, 1764340000);
  EXPECT_EQ(out.metadata.host, "esx-01.example");
  EXPECT_EQ(out.metadata.vm_name, "db server ü");
  EXPECT_EQ(out.metadata.vm_uuid, in.metadata.vm_uuid);
  EXPECT_EQ(out.metadata.original_name, "vmx-zdump.001");
  EXPECT_EQ(out.SectorCount(), (123456789u + 8191) / 8192);
  EXPECT_EQ(out.ExpectedFileSize(), 8192 + out.SectorCount() * (8192 + 16));
}

TEST(EnvelopeFormatTest, FixedFieldsAtDocumentedOffsets) {
  std::vector<uint8_t> b = Encoded(SampleHeader());
  EXPECT_TRUE(HasEnvelopeMagic(b));
  EXPECT_EQ(b[8], 1);                   // version
  EXPECT_EQ(b[10], kFlagIntegrity);     // flags
  EXPECT_EQ(b[16], kCipherAes256Xts);   // cipher
  EXPECT_EQ(b[17], 13);                 // log2(8192)
  EXPECT_EQ(b[20] | b[21] << 8, 4096);  // prefix length
  EXPECT_EQ(b[25], 0x20);               // data offset 8192
  EXPECT_EQ(b[40], 0);                  // file id starts
  EXPECT_EQ(b[41], 7);
  EXPECT_EQ(b[64] | b[65] << 8, kRecordKeySlot);
}

TEST(EnvelopeFormatTest, RejectsDamage) {
  const std::vector<uint8_t> good = Encoded(SampleHeader());
  auto code_after = [&](auto mutate) {
    std::vector<uint8_t> b = good;
    mutate(b);
    return ParseHeader(b).status().code();
  };
  using C = absl::StatusCode;
  EXPECT_EQ(code_after([](auto& b) { b[0] = 'X'; }), C::kFailedPrecondition);
  EXPECT_EQ(code_after([](auto& b) { b[8] = 2; }), C::kUnimplemented);
  EXPECT_EQ(code_after([](auto& b) { b[10] |= 0x80; }), C::kUnimplemented);
  EXPECT_EQ(code_after([](auto& b) { b[16] = 2; }), C::kUnimplemented);
  EXPECT_EQ(code_after([](auto& b) { b[17] = 8; }), C::kDataLoss);
  EXPECT_EQ(code_after([](auto& b) { b[17] = 17; }), C::kDataLoss);
  EXPECT_EQ(code_after([](auto& b) { b[18] = 1; }), C::kDataLoss);
  EXPECT_EQ(code_after([](auto& b) {
              b[24] = 1;
              b[25] = 0;
            }),
            C::kDataLoss);
  EXPECT_EQ(code_after([](auto& b) { b.pop_back(); }), C::kDataLoss);
  EXPECT_EQ(code_after([](auto& b) {
              b[12] = 10;
              b[13] = 0;
            }),
            C::kDataLoss);
  // A record length running past the end.
  EXPECT_EQ(code_after([](auto& b) {
              b[66] = 0xff;
              b[67] = 0xff;
            }),
            C::kDataLoss);
  // An unknown required record type.
  EXPECT_EQ(code_after([](auto& b) { b[64] = 0x33; }), C::kUnimplemented);
}

TEST(EnvelopeFormatTest, SkipsUnknownOptionalRecords) {
  EnvelopeHeader h = SampleHeader();
  auto body = EncodeHeader(&h);
  ASSERT_TRUE(body.ok());
  std::vector<uint8_t> b = *body;
  const uint8_t extra[] = {0xff, 0x8f, 3, 0, 'a', 'b', 'c'};
  b.insert(b.end(), std::begin(extra), std::end(extra));
  b.resize(b.size() + kHeaderTagSize);
  const uint32_t len = static_cast<uint32_t>(b.size());
  for (int i = 0; i < 4; ++i) b[12 + i] = static_cast<uint8_t>(len >> (8 * i));
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader out, ParseHeader(b));
  EXPECT_EQ(out.metadata.world, "vmx");
}

TEST(EnvelopeFormatTest, TheInputStateRecordSaysTruncatedAndNothingElse) {
  EnvelopeHeader h = SampleHeader();
  const size_t complete = Encoded(h).size();
  h.metadata.truncated = true;
  const std::vector<uint8_t> b = Encoded(h);
  EXPECT_EQ(b.size(), complete + kInputStateRecordSize);
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader out, ParseHeader(b));
  EXPECT_TRUE(out.metadata.truncated);
  // The record is the last before the tag: 01 80 01 00 01.
  const size_t at = b.size() - kHeaderTagSize - kInputStateRecordSize;
  auto parse = [](std::vector<uint8_t> bytes) {
    const uint32_t len = static_cast<uint32_t>(bytes.size());
    for (int i = 0; i < 4; ++i)
      bytes[12 + i] = static_cast<uint8_t>(len >> (8 * i));
    return ParseHeader(bytes).status();
  };
  std::vector<uint8_t> other_value = b;
  other_value[at + 4] = 2;
  std::vector<uint8_t> longer = b;
  longer[at + 2] = 2;
  longer.insert(longer.begin() + at + 5, 1);
  std::vector<uint8_t> twice = b;
  twice.insert(twice.begin() + at, b.begin() + at,
               b.begin() + at + kInputStateRecordSize);
  for (const auto& bad : {other_value, longer, twice}) {
    const absl::Status status = parse(bad);
    EXPECT_TRUE(absl::IsDataLoss(status)) << status;
    EXPECT_NE(status.message().find("input state record"),
              absl::string_view::npos)
        << status;
  }
}

TEST(EnvelopeFormatTest, ProcessRecordsRoundTripAndAreBoundedLikeTheOthers) {
  EnvelopeHeader h = SampleHeader();
  h.metadata.process = ProcessIds{4242, 1000, 100, 11};
  h.metadata.executable = "/usr/bin/crashme";
  h.metadata.command_line = "crashme --mib 4";
  h.metadata.cgroup = "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope";
  h.metadata.unit = "machine-qemu\\x2d1\\x2dvm1.scope";
  const std::vector<uint8_t> b = Encoded(h);
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader out, ParseHeader(b));
  ASSERT_TRUE(out.metadata.process.has_value());
  EXPECT_EQ(out.metadata.process->pid, 4242u);
  EXPECT_EQ(out.metadata.process->uid, 1000u);
  EXPECT_EQ(out.metadata.process->gid, 100u);
  EXPECT_EQ(out.metadata.process->signal, 11u);
  EXPECT_EQ(out.metadata.executable, h.metadata.executable);
  EXPECT_EQ(out.metadata.command_line, h.metadata.command_line);
  EXPECT_EQ(out.metadata.cgroup, h.metadata.cgroup);
  EXPECT_EQ(out.metadata.unit, h.metadata.unit);
  // The process record: 02 80 10 00, then pid 4242 = 0x1092.
  const uint8_t process[] = {0x02, 0x80, 16, 0, 0x92, 0x10, 0, 0};
  auto at =
      std::search(b.begin(), b.end(), std::begin(process), std::end(process));
  ASSERT_NE(at, b.end());
  std::vector<uint8_t> twice = b;
  const size_t offset = at - b.begin();
  twice.insert(twice.begin() + offset, b.begin() + offset,
               b.begin() + offset + 20);
  const uint32_t len = static_cast<uint32_t>(twice.size());
  for (int i = 0; i < 4; ++i)
    twice[12 + i] = static_cast<uint8_t>(len >> (8 * i));
  EXPECT_TRUE(absl::IsDataLoss(ParseHeader(twice).status()));
  h.metadata.unit = "bad\nunit";
  EXPECT_TRUE(absl::IsInvalidArgument(EncodeHeader(&h).status()));
}

TEST(EnvelopeFormatTest, TheLayoutRecordIsRequiredKnowledge) {
  EnvelopeHeader h = SampleHeader();
  h.prefix_length = 0;
  h.metadata.flattened_size = 123456;
  const std::vector<uint8_t> b = Encoded(h);
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader out, ParseHeader(b));
  EXPECT_EQ(out.metadata.flattened_size, 123456u);
  const uint8_t layout[] = {0x17, 0x00, 9, 0, kLayoutFlattened};
  auto at =
      std::search(b.begin(), b.end(), std::begin(layout), std::end(layout));
  ASSERT_NE(at, b.end());
  std::vector<uint8_t> other_kind = b;
  other_kind[at - b.begin() + 4] = 2;
  EXPECT_TRUE(absl::IsUnimplemented(ParseHeader(other_kind).status()));
  // With a prefix it cannot be: a writer refuses it.
  h.prefix_length = 4096;
  EXPECT_TRUE(absl::IsInvalidArgument(EncodeHeader(&h).status()));
}

TEST(EnvelopeFormatTest, DefaultTypeAndUnknownTimeHaveNoRecordAndReEncode) {
  EnvelopeHeader h = SampleHeader();
  h.metadata.type = DumpType::kOther;
  h.metadata.created_unix = 0;
  const std::vector<uint8_t> b = Encoded(h);
  const EnvelopeHeader full = SampleHeader();
  EXPECT_EQ(b.size() + 5 + 12, Encoded(full).size());  // both records gone
  // A header that fills its space up to data_offset still re-encodes.
  h.data_offset = b.size() + h.prefix_length;
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader out, ParseHeader(Encoded(h)));
  EXPECT_EQ(out.metadata.type, DumpType::kOther);
  EXPECT_EQ(out.metadata.created_unix, 0);
  EXPECT_EQ(Encoded(out), Encoded(h));
}

TEST(EnvelopeFormatTest, ValidatesKeyRefs) {
  EXPECT_OK(ValidateKeyRef({"", std::string(255, 'k')}));
  EXPECT_FALSE(ValidateKeyRef({"", std::string(256, 'k')}).ok());
  EXPECT_FALSE(ValidateKeyRef({"", ""}).ok());
  EXPECT_FALSE(ValidateKeyRef({"", "a\nb"}).ok());
  EXPECT_FALSE(ValidateKeyRef({"", "\xc3\x28"}).ok());
  EXPECT_FALSE(ValidateKeyRef({std::string(256, 'p'), "k"}).ok());
  EnvelopeHeader h = SampleHeader();
  h.slots[0].ref.key_id = std::string(300, 'x');
  EXPECT_EQ(EncodeHeader(&h).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EnvelopeFormatTest, DumpTypeNames) {
  for (auto name : {"vmkernel", "userworld", "vm", "other"}) {
    ASSERT_OK_AND_ASSIGN(DumpType t, ParseDumpType(name));
    EXPECT_EQ(DumpTypeName(t), name);
  }
  EXPECT_FALSE(ParseDumpType("kernel").ok());
}

// A header may hold 64 slots; a 65th is refused when writing and, in a
// crafted file, when reading, before any key is asked for.
TEST(EnvelopeFormatTest, SlotsAreBoundedAtSixtyFour) {
  EnvelopeHeader h;
  h.plaintext_length = 1;
  h.data_offset = 1 << 20;
  for (size_t i = 0; i < kMaxSlots; ++i) {
    h.slots.push_back(ProviderSlot({"kms", "k" + std::to_string(i)}, 1));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes, EncodeHeader(&h));
  std::vector<uint8_t> whole = bytes;
  whole.resize(bytes.size() + kHeaderTagSize);
  ASSERT_OK_AND_ASSIGN(EnvelopeHeader back, ParseHeader(whole));
  EXPECT_EQ(back.slots.size(), kMaxSlots);

  const size_t record = 4 + (bytes[66] | bytes[67] << 8);
  bytes.insert(bytes.begin() + 64, bytes.begin() + 64,
               bytes.begin() + 64 + record);
  bytes.resize(bytes.size() + kHeaderTagSize);
  const uint32_t length = static_cast<uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i) bytes[12 + i] = (length >> (8 * i)) & 0xff;
  absl::StatusOr<EnvelopeHeader> bomb = ParseHeader(bytes);
  EXPECT_EQ(bomb.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(bomb.status().message().find("64 key slots"),
            absl::string_view::npos);

  h.slots.push_back(h.slots.front());
  EXPECT_EQ(EncodeHeader(&h).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dumpcrypt
