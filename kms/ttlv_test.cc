#include "kms/ttlv.h"

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kms/kmip.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::FromHex;
using testing::ToHex;

std::string Hex(const Ttlv& t) {
  std::string bytes = t.Encode();
  return ToHex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

absl::StatusOr<Ttlv> DecodeHex(const std::string& hex) {
  return Ttlv::Decode(FromHex(hex));
}

// The encoding examples of the KMIP 1.x specification (section 9.1.2).
TEST(TtlvTest, SpecificationExamplesForEveryType) {
  struct Case {
    Ttlv item;
    const char* hex;
  } cases[] = {
      {Ttlv::Integer(0x420020, 8), "42002002000000040000000800000000"},
      {Ttlv::LongInteger(0x420020, 123456789000000000),
       "420020030000000801b69b4ba5749200"},
      {Ttlv::BigInteger(0x420020,
                        std::string("\x00\x00\x00\x00\x03\xfd\x35\xeb\x6b\xc2"
                                    "\xdf\x46\x18\x08\x00\x00",
                                    16)),
       "42002004000000100000000003fd35eb6bc2df4618080000"},
      {Ttlv::Enumeration(0x420020, 255), "4200200500000004000000ff00000000"},
      {Ttlv::Boolean(0x420020, true), "42002006000000080000000000000001"},
      {Ttlv::TextString(0x420020, "Hello World"),
       "420020070000000b48656c6c6f20576f726c640000000000"},
      {Ttlv::ByteString(0x420020, "\x01\x02\x03"),
       "42002008000000030102030000000000"},
      {Ttlv::DateTime(0x420020, 0x47DA67F8),
       "42002009000000080000000047da67f8"},
      {Ttlv::Interval(0x420020, 864000), "4200200a00000004000d2f0000000000"},
      {Ttlv::Structure(0x420020, {Ttlv::Enumeration(0x420004, 254),
                                  Ttlv::Integer(0x420005, 255)}),
       "42002001000000204200040500000004000000fe000000004200050200000004000000f"
       "f00000000"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Hex(c.item), c.hex);
    ASSERT_OK_AND_ASSIGN(Ttlv back, DecodeHex(c.hex));
    EXPECT_EQ(back.type(), c.item.type()) << c.hex;
    EXPECT_EQ(back.number(), c.item.number()) << c.hex;
    EXPECT_EQ(back.bytes(), c.item.bytes()) << c.hex;
    EXPECT_EQ(Hex(back), c.hex);
  }
}

// Produced by PyKMIP 0.10's encoder (Debian python3-pykmip), KMIP 1.2: a Get
// request for "44" with Key Format Type Raw; its response carrying the AES
// key 00..1f; a failure with Item Not Found.
constexpr char kPyKmipGetRequest[] =
    "42007801000000804200770100000038420069010000002042006a02000000040000000100"
    "00000042006b02000000"
    "04000000020000000042000d0200000004000000010000000042000f010000003842005c05"
    "000000040000000a0000"
    "00004200790100000020420094070000000234340000000000004200420500000004000000"
    "0100000000";
constexpr char kPyKmipGetResponse[] =
    "42007b010000011042007a0100000048420069010000002042006a02000000040000000100"
    "00000042006b02000000"
    "0400000002000000004200920900000008000000005a1b2c3d42000d020000000400000001"
    "0000000042000f010000"
    "00b842005c05000000040000000a0000000042007f0500000004000000000000000042007c"
    "01000000904200570500"
    "00000400000002000000004200940700000002343400000000000042008f01000000684200"
    "40010000006042004205"
    "00000004000000010000000042004501000000284200430800000020000102030405060708"
    "090a0b0c0d0e0f101112"
    "131415161718191a1b1c1d1e1f4200280500000004000000030000000042002a0200000004"
    "0000010000000000";
constexpr char kPyKmipNotFound[] =
    "42007b01000000b042007a0100000048420069010000002042006a02000000040000000100"
    "00000042006b02000000"
    "0400000002000000004200920900000008000000005a1b2c3d42000d020000000400000001"
    "0000000042000f010000"
    "005842005c05000000040000000a0000000042007f0500000004000000010000000042007e"
    "05000000040000000100"
    "00000042007d070000001b436f756c64206e6f74206c6f63617465206f626a6563743a2039"
    "390000000000";

TEST(KmipTest, GetRequestMatchesPyKmipByteForByte) {
  EXPECT_EQ(Hex(kmip::Request(kmip::kGet, kmip::GetPayload("44"))),
            kPyKmipGetRequest);
}

TEST(KmipTest, ParsesPyKmipGetResponse) {
  ASSERT_OK_AND_ASSIGN(Ttlv message, DecodeHex(kPyKmipGetResponse));
  EXPECT_EQ(Hex(message), kPyKmipGetResponse);
  ASSERT_OK_AND_ASSIGN(kmip::Reply reply,
                       kmip::ParseResponse(message, kmip::kGet));
  EXPECT_EQ(reply.status, 0u);
  EXPECT_OK(kmip::ReplyStatus(reply, "Get"));
  const Ttlv* material =
      reply.payload.FindPath({kmip::kSymmetricKey, kmip::kKeyBlock,
                              kmip::kKeyValue, kmip::kKeyMaterial},
                             TtlvType::kByteString);
  ASSERT_NE(material, nullptr);
  EXPECT_EQ(ToHex({reinterpret_cast<const uint8_t*>(material->bytes().data()),
                   material->bytes().size()}),
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  reply.payload.Cleanse();
  material = reply.payload.FindPath({kmip::kSymmetricKey, kmip::kKeyBlock,
                                     kmip::kKeyValue, kmip::kKeyMaterial},
                                    TtlvType::kByteString);
  EXPECT_EQ(material->bytes(), std::string(32, '\0'));
  EXPECT_EQ(kmip::ParseResponse(message, kmip::kLocate).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KmipTest, ErrorResponsesBecomeStatuses) {
  ASSERT_OK_AND_ASSIGN(Ttlv message, DecodeHex(kPyKmipNotFound));
  ASSERT_OK_AND_ASSIGN(kmip::Reply reply,
                       kmip::ParseResponse(message, kmip::kGet));
  EXPECT_EQ(reply.status, 1u);
  EXPECT_EQ(reply.reason, kmip::kItemNotFound);
  EXPECT_EQ(reply.message, "Could not locate object: 99");
  absl::Status s = kmip::ReplyStatus(reply, "Get 99");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("Could not locate object: 99"),
            absl::string_view::npos);
  reply.reason = kmip::kPermissionDenied;
  EXPECT_EQ(kmip::ReplyStatus(reply, "Get").code(),
            absl::StatusCode::kPermissionDenied);
  reply.reason = 0x100;
  EXPECT_EQ(kmip::ReplyStatus(reply, "Get").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(TtlvTest, RejectsMalformedInput) {
  const std::string good = "42002002000000040000000800000000";
  EXPECT_OK(DecodeHex(good).status());
  for (const char* bad : {
           "4200200200000004000000080000",        // truncated
           "42002002000000040000000800000001",    // padding not zero
           "42002002000000080000000800000000",    // integer of length 8
           "42002006000000080000000000000002",    // boolean 2
           "4200200b000000040000000800000000",    // unknown type
           "42002001000000100000000000000000",    // structure past the end
           "4200200200000004000000080000000000",  // trailing byte
           "420020040000000300000000000000000",   // big integer length 3
       }) {
    EXPECT_EQ(DecodeHex(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep = Ttlv::Structure(0x420020, {}).Encode();
  Ttlv nested = Ttlv::Integer(0x420001, 1);
  for (int i = 0; i < 40; ++i) nested = Ttlv::Structure(0x420020, {nested});
  const std::string bytes = nested.Encode();
  EXPECT_EQ(Ttlv::Decode(
                {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Response builds a KMIP 1.2 response message; each item is (operation,
// batch item ID or "" for none, result status).
Ttlv Response(
    const std::vector<std::tuple<kmip::Operation, std::string, int>>& items) {
  std::vector<Ttlv> message = {Ttlv::Structure(
      kmip::kResponseHeader,
      {Ttlv::Structure(kmip::kProtocolVersion,
                       {Ttlv::Integer(kmip::kProtocolVersionMajor, 1),
                        Ttlv::Integer(kmip::kProtocolVersionMinor, 2)}),
       Ttlv::Integer(kmip::kBatchCount, static_cast<int32_t>(items.size()))})};
  for (const auto& [op, id, status] : items) {
    std::vector<Ttlv> item = {Ttlv::Enumeration(kmip::kOperation, op)};
    if (!id.empty())
      item.push_back(Ttlv::ByteString(kmip::kUniqueBatchItemId, id));
    item.push_back(Ttlv::Enumeration(kmip::kResultStatus, status));
    if (status != 0) {
      item.push_back(
          Ttlv::Enumeration(kmip::kResultReason, kmip::kItemNotFound));
    }
    message.push_back(Ttlv::Structure(kmip::kBatchItem, std::move(item)));
  }
  return Ttlv::Structure(kmip::kResponseMessage, std::move(message));
}

TEST(KmipTest, BatchRequestCarriesCountAndItemIds) {
  std::vector<kmip::Item> items;
  items.push_back({kmip::kGetAttributes, kmip::GetStatePayload("7")});
  items.push_back({kmip::kGet, kmip::GetPayload("7")});
  const Ttlv request = kmip::Request(std::move(items));
  const Ttlv* count = request.FindPath(
      {kmip::kRequestHeader, kmip::kBatchCount}, TtlvType::kInteger);
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->number(), 2);
  std::vector<std::pair<int64_t, std::string>> seen;
  for (const Ttlv& item : request.children()) {
    if (item.tag() != kmip::kBatchItem) continue;
    const Ttlv* id = item.Find(kmip::kUniqueBatchItemId, TtlvType::kByteString);
    ASSERT_NE(id, nullptr);
    seen.push_back(
        {item.Find(kmip::kOperation, TtlvType::kEnumeration)->number(),
         id->bytes()});
  }
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, std::string>>{
                      {kmip::kGetAttributes, std::string(1, '\0')},
                      {kmip::kGet, std::string(1, '\1')}}));
  // One item keeps the exact form PyKMIP sends (no batch item ID).
  EXPECT_EQ(Hex(kmip::Request(kmip::kGet, kmip::GetPayload("44"))),
            kPyKmipGetRequest);
}

TEST(KmipTest, BatchResponsesAreMatchedInOrder) {
  const std::vector<kmip::Operation> ops = {kmip::kGetAttributes, kmip::kGet};
  const std::string id0(1, '\0'), id1(1, '\1');
  auto both = kmip::ParseResponses(
      Response({{kmip::kGetAttributes, id0, 0}, {kmip::kGet, id1, 0}}), ops);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->size(), 2u);
  // A server that stopped at a failed first item answers only that one.
  auto stopped =
      kmip::ParseResponses(Response({{kmip::kGetAttributes, id0, 1}}), ops);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_EQ(stopped->size(), 1u);
  EXPECT_EQ((*stopped)[0].reason, kmip::kItemNotFound);
  for (const Ttlv& bad : {
           Response({{kmip::kGetAttributes, id0, 0}}),  // one answer missing
           Response({{kmip::kGet, id1, 0}, {kmip::kGetAttributes, id0, 0}}),
           Response({{kmip::kGetAttributes, id1, 0}, {kmip::kGet, id0, 0}}),
           Response({{kmip::kGetAttributes, "", 0}, {kmip::kGet, "", 0}}),
           Response({{kmip::kGetAttributes, id0, 0},
                     {kmip::kGet, id1, 0},
                     {kmip::kGet, std::string(1, '\2'), 0}}),
           Response({}),
       }) {
    EXPECT_EQ(kmip::ParseResponses(bad, ops).status().code(),
              absl::StatusCode::kInvalidArgument)
        << Hex(bad);
  }
}

}  // namespace
}  // namespace dumpcrypt
