#include "kms/held_secrets.h"

#include <sys/stat.h>

#include <fstream>

#include "envelope/envelope_opener.h"
#include "envelope/file_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/kms_config.h"
#include "kms/vmware_keystore.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

const Argon2Cost kCheap{.time = 1, .memory_kib = 64, .lanes = 1};

std::string Text(const SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// A header whose only slots are `slots`: UnlockDataKey reads nothing else.
EnvelopeHeader WithSlots(std::vector<KeySlot> slots) {
  EnvelopeHeader h;
  h.slots = std::move(slots);
  return h;
}

KeySlot PasswordSlot(absl::string_view password, const PasswordKdf& kdf,
                     const SecretBytes& dk) {
  absl::StatusOr<SecretBytes> kek = PasswordKek(AsBytes(password), kdf);
  EXPECT_TRUE(kek.ok());
  absl::StatusOr<KeySlot> slot = MakePasswordSlot(kdf, *kek, dk);
  EXPECT_TRUE(slot.ok());
  return *slot;
}

TEST(PasswordFileTest, IsTheFirstLineWithoutItsEnd) {
  TempDir dir;
  for (absl::string_view text : {"s3cret", "s3cret\n", "s3cret\r\nnext\n"}) {
    testing::WriteSecretFile(dir.File("pw"), text);
    ASSERT_OK_AND_ASSIGN(SecretBytes pw, ReadPasswordFile(dir.File("pw")));
    EXPECT_EQ(Text(pw), "s3cret");
  }
  testing::WriteSecretFile(dir.File("pw"), "\nlater");
  EXPECT_EQ(ReadPasswordFile(dir.File("pw")).status().code(),
            absl::StatusCode::kInvalidArgument);
  testing::WriteSecretFile(dir.File("pw"), "s3cret\n", 0644);
  EXPECT_THAT(ReadPasswordFile(dir.File("pw")).status().message(),
              HasSubstr("chmod 600"));
  ASSERT_EQ(::mkfifo(dir.File("fifo").c_str(), 0600), 0);
  EXPECT_EQ(ReadPasswordFile(dir.File("fifo")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadPasswordFile(dir.File("none")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PasswordSourceTest, DerivesEachKdfOnceAndOpensOnlyWithThePassword) {
  ASSERT_OK_AND_ASSIGN(PasswordKdf shared, NewPasswordKdf(kCheap));
  ASSERT_OK_AND_ASSIGN(PasswordKdf other, NewPasswordKdf(kCheap));
  const SecretBytes dk1 = SecretBytes::CopyOf(testing::RandomBytes(64, 1));
  const SecretBytes dk2 = SecretBytes::CopyOf(testing::RandomBytes(64, 2));
  PasswordSource right(SecretBytes::CopyOf(AsBytes("right")), "password");
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(
        SecretBytes got,
        UnlockDataKey(WithSlots({PasswordSlot("right", shared, dk1)}), right));
    EXPECT_TRUE(got.Equals(dk1));
  }
  EXPECT_EQ(right.Derivations(), 1);
  ASSERT_OK_AND_ASSIGN(
      SecretBytes got,
      UnlockDataKey(WithSlots({PasswordSlot("right", other, dk2)}), right));
  EXPECT_TRUE(got.Equals(dk2));
  EXPECT_EQ(right.Derivations(), 2);

  PasswordSource wrong(SecretBytes::CopyOf(AsBytes("wrong")), "password");
  absl::StatusOr<SecretBytes> failed =
      UnlockDataKey(WithSlots({PasswordSlot("right", shared, dk1)}), wrong);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(failed.status().message(), HasSubstr("password:"));
  EXPECT_THAT(failed.status().message(), HasSubstr("wrong key or damaged"));
}

TEST(IdentitySourceTest, OpensSlotsForItsKeysOnly) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(PrivateKey mine, PrivateKey::Generate(KeyType::kX25519));
  ASSERT_OK_AND_ASSIGN(PrivateKey theirs,
                       PrivateKey::Generate(KeyType::kX25519));
  ASSERT_OK_AND_ASSIGN(SecretBytes pem, mine.Pem());
  testing::WriteSecretFile(dir.File("id.pem"), Text(pem));
  ASSERT_OK_AND_ASSIGN(auto source,
                       IdentitySource::FromFiles({dir.File("id.pem")}));
  const SecretBytes dk = SecretBytes::CopyOf(testing::RandomBytes(64, 3));
  ASSERT_OK_AND_ASSIGN(KeySlot for_me,
                       MakeRecipientSlot(mine.public_key(), dk));
  ASSERT_OK_AND_ASSIGN(KeySlot for_them,
                       MakeRecipientSlot(theirs.public_key(), dk));
  // Slots are tried in order: theirs fails, mine opens.
  ASSERT_OK_AND_ASSIGN(SecretBytes got,
                       UnlockDataKey(WithSlots({for_them, for_me}), *source));
  EXPECT_TRUE(got.Equals(dk));
  absl::StatusOr<SecretBytes> failed =
      UnlockDataKey(WithSlots({for_them}), *source);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(failed.status().message(), HasSubstr("not a recipient"));

  testing::WriteSecretFile(dir.File("open.pem"), Text(pem), 0640);
  EXPECT_EQ(IdentitySource::FromFiles({dir.File("open.pem")}).status().code(),
            absl::StatusCode::kPermissionDenied);
  testing::WriteSecretFile(dir.File("junk.pem"), "junk");
  EXPECT_THAT(
      IdentitySource::FromFiles({dir.File("junk.pem")}).status().message(),
      HasSubstr("junk.pem"));
}

TEST(HeldSecretsTest, AChainOpensAnySlotOneOfItsSourcesHolds) {
  ASSERT_OK_AND_ASSIGN(PasswordKdf kdf, NewPasswordKdf(kCheap));
  const SecretBytes dk = SecretBytes::CopyOf(testing::RandomBytes(64, 4));
  const SecretBytes kek = SecretBytes::CopyOf(testing::RandomBytes(32, 5));
  ASSERT_OK_AND_ASSIGN(KeySlot by_ref, MakeKeySlot({"kms", "absent"}, kek, dk));
  std::vector<std::unique_ptr<KeyResolver>> sources;
  sources.push_back(std::make_unique<FixedKeyResolver>(
      SecretBytes::CopyOf(testing::RandomBytes(32, 6))));
  sources.push_back(std::make_unique<PasswordSource>(
      SecretBytes::CopyOf(AsBytes("pw")), "password"));
  ChainResolver chain(std::move(sources));
  ASSERT_OK_AND_ASSIGN(
      SecretBytes got,
      UnlockDataKey(WithSlots({by_ref, PasswordSlot("pw", kdf, dk)}), chain));
  EXPECT_TRUE(got.Equals(dk));
}

}  // namespace
}  // namespace dumpcrypt
