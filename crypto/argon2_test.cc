#include "crypto/argon2.h"

#include "crypto/kdf.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::ToHex;

// The Argon2id v1.3 vector of the reference implementation's test.c:
// t=2, m=2^16 KiB, p=1, "password", "somesalt", 32 bytes.
TEST(Argon2Test, ReferenceVector) {
  ASSERT_OK_AND_ASSIGN(
      SecretBytes out,
      Argon2id(AsBytes("password"), AsBytes("somesalt"),
               {.time = 2, .memory_kib = 1 << 16, .lanes = 1}, 32));
  EXPECT_EQ(ToHex(out.span()),
            "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7");
}

TEST(Argon2Test, EveryParameterChangesTheKey) {
  const Argon2Cost cost{.time = 1, .memory_kib = 64, .lanes = 2};
  ASSERT_OK_AND_ASSIGN(SecretBytes base,
                       Argon2id(AsBytes("pw"), AsBytes("salt0123"), cost, 32));
  ASSERT_OK_AND_ASSIGN(SecretBytes again,
                       Argon2id(AsBytes("pw"), AsBytes("salt0123"), cost, 32));
  EXPECT_TRUE(base.Equals(again));
  for (const Argon2Cost& other :
       {Argon2Cost{2, 64, 2}, Argon2Cost{1, 128, 2}, Argon2Cost{1, 64, 1}}) {
    ASSERT_OK_AND_ASSIGN(
        SecretBytes changed,
        Argon2id(AsBytes("pw"), AsBytes("salt0123"), other, 32));
    EXPECT_FALSE(base.Equals(changed));
  }
  ASSERT_OK_AND_ASSIGN(SecretBytes salted,
                       Argon2id(AsBytes("pw"), AsBytes("salt0124"), cost, 32));
  EXPECT_FALSE(base.Equals(salted));
}

TEST(Argon2Test, RefusesCostsBeyondTheBounds) {
  const auto salt = AsBytes("somesalt");
  for (const Argon2Cost& bad :
       {Argon2Cost{0, 64, 1}, Argon2Cost{65, 64, 1}, Argon2Cost{1, 64, 0},
        Argon2Cost{1, 64, 17}, Argon2Cost{1, 15, 2},
        Argon2Cost{1, kArgon2MaxMemoryKib + 1, 1}}) {
    absl::StatusOr<SecretBytes> out = Argon2id(AsBytes("pw"), salt, bad, 32);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
        << bad.time << " " << bad.memory_kib << " " << bad.lanes;
  }
  EXPECT_FALSE(Argon2id(AsBytes("pw"), AsBytes("short"), {1, 64, 1}, 32).ok());
}

}  // namespace
}  // namespace dumpcrypt
