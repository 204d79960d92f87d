#include "envelope/ve_envelope.h"

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

TEST(VeKeyRefTest, PlainIdsAndLocators) {
  EXPECT_EQ(VeKeyRef("7e62cec5-6aef-4d7e-838b-cae32eefd251"),
            (KeyRef{"", "7e62cec5-6aef-4d7e-838b-cae32eefd251"}));
  EXPECT_EQ(VeKeyRef("vmware:key/fqid/<VMWARE-NULL>/kms-a/44"),
            (KeyRef{"kms-a", "44"}));
  EXPECT_EQ(VeKeyRef("vmware:key/list/(pair/(fqid/<VMWARE-NULL>/My%20KMS/"
                     "5f4a%2d11,HMAC%2dSHA%2d256,abc))"),
            (KeyRef{"My KMS", "5f4a-11"}));
  EXPECT_EQ(VeKeyRef("vmware:key/pair/(fqid/u/kms%2fb/k%25)"),
            (KeyRef{"kms/b", "k%"}));
  EXPECT_EQ(VeKeyRef("fqid/too-short"), (KeyRef{"", "fqid/too-short"}));
}

std::vector<uint8_t> Attr(uint8_t type, const std::string& name,
                          const std::string& value) {
  std::vector<uint8_t> out = {type, 0, 0, 0};
  out.insert(out.end(), name.begin(), name.end());
  out.push_back(0);
  if (type == 0x0C) {
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<uint8_t>(value.size() >> (8 * i)));
  }
  out.insert(out.end(), value.begin(), value.end());
  if (type == 0x0B) out.push_back(0);
  return out;
}

TEST(VeAttributesTest, ParsesStringsAndBytesAndRejectsDamage) {
  std::vector<uint8_t> area = Attr(0x0B, "vmware.keyInfo", "k1");
  auto bytes = Attr(0x0C, "vmware.iv", std::string("\x00\x01\x02", 3));
  area.insert(area.end(), bytes.begin(), bytes.end());
  area.push_back(0);
  area.resize(area.size() + 20, 0xee);  // after the end marker: ignored
  ASSERT_OK_AND_ASSIGN(auto attrs, ParseVeAttributes(area));
  ASSERT_EQ(attrs.size(), 2u);
  EXPECT_EQ(attrs[0].name, "vmware.keyInfo");
  EXPECT_TRUE(attrs[0].is_string());
  EXPECT_EQ(attrs[0].value, "k1");
  EXPECT_EQ(attrs[1].value, std::string("\x00\x01\x02", 3));

  std::vector<uint8_t> bad = Attr(0x0C, "x", "abcd");
  bad[6] = 0xff;  // length far past the end
  EXPECT_EQ(ParseVeAttributes(bad).status().code(),
            absl::StatusCode::kDataLoss);
  bad = Attr(0x0B, "x", "abc");
  bad.pop_back();  // unterminated string
  EXPECT_EQ(ParseVeAttributes(bad).status().code(),
            absl::StatusCode::kDataLoss);
  bad = Attr(0x07, "x", "");
  EXPECT_EQ(ParseVeAttributes(bad).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dumpcrypt
