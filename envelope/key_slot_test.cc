#include "envelope/key_slot.h"

#include "crypto/public_key.h"
#include "envelope/file_keys.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::RandomBytes;

const Argon2Cost kCheap{.time = 1, .memory_kib = 64, .lanes = 1};

SecretBytes DataKey() { return SecretBytes::CopyOf(RandomBytes(64, 1)); }

KeySlot RoundTrip(const KeySlot& slot) {
  absl::StatusOr<std::vector<uint8_t>> bytes = EncodeSlot(slot);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<KeySlot> back = ParseSlot(*bytes);
  EXPECT_TRUE(back.ok()) << back.status();
  absl::StatusOr<std::vector<uint8_t>> again = EncodeSlot(*back);
  EXPECT_EQ(*again, *bytes);
  return *back;
}

TEST(KeySlotTest, PasswordSlotOpensWithItsPasswordOnly) {
  ASSERT_OK_AND_ASSIGN(PasswordKdf kdf, NewPasswordKdf(kCheap));
  EXPECT_EQ(kdf.salt.size(), kPasswordSaltSize);
  ASSERT_OK_AND_ASSIGN(SecretBytes kek, PasswordKek(AsBytes("hunter2"), kdf));
  const SecretBytes dk = DataKey();
  ASSERT_OK_AND_ASSIGN(KeySlot slot, MakePasswordSlot(kdf, kek, dk));
  const KeySlot back = RoundTrip(slot);
  EXPECT_EQ(back.kind, kSlotPassword);
  EXPECT_EQ(back.password, kdf);
  ASSERT_OK_AND_ASSIGN(SecretBytes again,
                       PasswordKek(AsBytes("hunter2"), back.password));
  ASSERT_OK_AND_ASSIGN(SecretBytes opened, UnwrapDataKey(back, again));
  EXPECT_TRUE(opened.Equals(dk));
  ASSERT_OK_AND_ASSIGN(SecretBytes wrong,
                       PasswordKek(AsBytes("hunter3"), back.password));
  EXPECT_EQ(UnwrapDataKey(back, wrong).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(SlotLabel(back), "password");
  EXPECT_TRUE(SlotMatches(back, "password"));
}

TEST(KeySlotTest, RecipientSlotsOpenWithTheirIdentityOnly) {
  for (KeyType type : {KeyType::kX25519, KeyType::kRsa}) {
    ASSERT_OK_AND_ASSIGN(PrivateKey me, PrivateKey::Generate(type, 2048));
    ASSERT_OK_AND_ASSIGN(PrivateKey other, PrivateKey::Generate(type, 2048));
    const SecretBytes dk = DataKey();
    ASSERT_OK_AND_ASSIGN(KeySlot slot, MakeRecipientSlot(me.public_key(), dk));
    const KeySlot back = RoundTrip(slot);
    EXPECT_EQ(back.kind, type == KeyType::kX25519 ? kSlotX25519 : kSlotRsaOaep);
    EXPECT_EQ(back.recipient, me.public_key().fingerprint());
    ASSERT_OK_AND_ASSIGN(SecretBytes kek, RecipientKek(back, me));
    ASSERT_OK_AND_ASSIGN(SecretBytes opened, UnwrapDataKey(back, kek));
    EXPECT_TRUE(opened.Equals(dk));
    EXPECT_EQ(RecipientKek(back, other).status().code(),
              absl::StatusCode::kNotFound);
    // The slot's fingerprint claims `other`: its KEK must not come out.
    KeySlot forged = back;
    forged.recipient = other.public_key().fingerprint();
    absl::StatusOr<SecretBytes> forged_kek = RecipientKek(forged, other);
    EXPECT_FALSE(forged_kek.ok() && UnwrapDataKey(forged, *forged_kek).ok());
    const std::string fp = FingerprintText(me.public_key().fingerprint());
    EXPECT_TRUE(SlotMatches(back, fp.substr(0, 15)));
    EXPECT_FALSE(SlotMatches(back, fp.substr(0, 14)));
    EXPECT_NE(SlotLabel(back).find(fp), std::string::npos);
  }
}

TEST(KeySlotTest, UnknownKindsAreKeptAsTheyAre) {
  const std::vector<uint8_t> value = {9, 1, 2, 3, 4, 5};
  ASSERT_OK_AND_ASSIGN(KeySlot slot, ParseSlot(value));
  EXPECT_FALSE(slot.known());
  EXPECT_EQ(SlotLabel(slot), "unknown slot kind 9");
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> again, EncodeSlot(slot));
  EXPECT_EQ(again, value);
  EXPECT_FALSE(SlotMatches(slot, "password"));
}

TEST(KeySlotTest, MalformedKnownKindsAreDamage) {
  ASSERT_OK_AND_ASSIGN(PasswordKdf kdf, NewPasswordKdf(kCheap));
  ASSERT_OK_AND_ASSIGN(SecretBytes kek, PasswordKek(AsBytes("pw"), kdf));
  ASSERT_OK_AND_ASSIGN(KeySlot slot, MakePasswordSlot(kdf, kek, DataKey()));
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> good, EncodeSlot(slot));
  std::vector<std::vector<uint8_t>> bad;
  bad.push_back(good);
  bad.back().push_back(0);  // a byte left over
  bad.push_back(good);
  bad.back().pop_back();  // a byte missing
  bad.push_back(good);
  bad.back()[1] = 2;  // an unknown KDF
  bad.push_back(good);
  bad.back()[2] = 0;  // zero passes
  bad.back()[3] = 0;
  bad.back()[4] = 0;
  bad.back()[5] = 0;
  bad.push_back(good);
  bad.back()[9] = 1;  // 16 GiB of memory: over the bound
  for (const auto& value : bad) {
    EXPECT_EQ(ParseSlot(value).status().code(), absl::StatusCode::kDataLoss);
  }
  KeySlot provider;
  provider.ref = {"kms", "44"};
  provider.wrapped_key.assign(71, 1);
  EXPECT_EQ(EncodeSlot(provider).status().code(),
            absl::StatusCode::kInvalidArgument);
  provider.wrapped_key.push_back(1);
  EXPECT_TRUE(EncodeSlot(provider).ok());
  provider.ref.key_id = "";
  EXPECT_FALSE(EncodeSlot(provider).ok());
}

// The test vectors of docs/FORMAT.md, section 3 (computed there with
// Python's argon2-cffi and cryptography, not with this code).
TEST(KeySlotTest, FormatDocumentVectors) {
  const PasswordKdf kdf{{.time = 1, .memory_kib = 64, .lanes = 1},
                        testing::FromHex("000102030405060708090a0b0c0d0e0f")};
  ASSERT_OK_AND_ASSIGN(SecretBytes password_kek,
                       PasswordKek(AsBytes("correct horse"), kdf));
  EXPECT_EQ(testing::ToHex(password_kek.span()),
            "25ce5233cc1e4d37e9bca31bfef41710e40446cd1cb575932791c5fd3780bd3c");

  // RFC 7748 section 6.1: Alice is the recipient, Bob's key the ephemeral.
  ASSERT_OK_AND_ASSIGN(
      PrivateKey alice,
      PrivateKey::FromPem(
          "-----BEGIN PRIVATE KEY-----\n"
          "MC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq\n"
          "-----END PRIVATE KEY-----\n"));
  EXPECT_EQ(FingerprintText(alice.public_key().fingerprint()),
            "sha256:"
            "291c5293e030452a599851a7c7298f3f16c3ff1bdfafcb598927f2631f9fa641");
  KeySlot slot;
  slot.kind = kSlotX25519;
  slot.recipient = alice.public_key().fingerprint();
  slot.encapsulated = testing::FromHex(
      "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  slot.wrapped_key.assign(kWrappedKeySize, 0);
  ASSERT_OK_AND_ASSIGN(SecretBytes x25519_kek, RecipientKek(slot, alice));
  EXPECT_EQ(testing::ToHex(x25519_kek.span()),
            "69a2cfad86a545660870bde10216e95906d776ad7d78a02c695f8f67362897fb");
}

}  // namespace
}  // namespace dumpcrypt
