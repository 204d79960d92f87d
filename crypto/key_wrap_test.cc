#include "crypto/key_wrap.h"

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::FromHex;
using testing::RandomBytes;
using testing::SecretFromHex;
using testing::ToHex;

constexpr char kRfcKek[] = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8";

// RFC 5649 section 6.
TEST(KeyWrapTest, Rfc5649Vectors) {
  SecretBytes kek = SecretFromHex(kRfcKek);
  struct Case {
    const char* key;
    const char* wrapped;
  } cases[] = {
      {"c37b7e6492584340bed12207808941155068f738",
       "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
      {"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
  };
  for (const Case& c : cases) {
    ASSERT_OK_AND_ASSIGN(auto wrapped, WrapKey(kek, SecretFromHex(c.key)));
    EXPECT_EQ(ToHex(wrapped), c.wrapped);
    ASSERT_OK_AND_ASSIGN(SecretBytes key, UnwrapKey(kek, FromHex(c.wrapped)));
    EXPECT_EQ(ToHex(key.span()), c.key);
  }
}

TEST(KeyWrapTest, DataKeyRoundTripAndWrongKey) {
  SecretBytes kek = SecretBytes::CopyOf(RandomBytes(32, 1));
  SecretBytes data_key = SecretBytes::CopyOf(RandomBytes(64, 2));
  ASSERT_OK_AND_ASSIGN(auto wrapped, WrapKey(kek, data_key));
  EXPECT_EQ(wrapped.size(), 72u);
  ASSERT_OK_AND_ASSIGN(SecretBytes back, UnwrapKey(kek, wrapped));
  EXPECT_TRUE(back.Equals(data_key));

  SecretBytes other = SecretBytes::CopyOf(RandomBytes(32, 3));
  EXPECT_EQ(UnwrapKey(other, wrapped).status().code(),
            absl::StatusCode::kUnauthenticated);
  for (size_t i = 0; i < wrapped.size(); i += 9) {
    auto damaged = wrapped;
    damaged[i] ^= 0x80;
    EXPECT_EQ(UnwrapKey(kek, damaged).status().code(),
              absl::StatusCode::kUnauthenticated)
        << "byte " << i;
  }
  wrapped.resize(40);
  EXPECT_EQ(UnwrapKey(kek, wrapped).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(KeyWrapTest, RejectsBadKekSize) {
  EXPECT_EQ(WrapKey(SecretBytes(31), SecretBytes(64)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dumpcrypt
