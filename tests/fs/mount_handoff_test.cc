// A mount with only a password or an identity: what support has.
#include <errno.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "envelope/envelope_format.h"
#include "envelope/file_keys.h"
#include "envelope/rekey.h"
#include "gmock/gmock.h"
#include "kms/held_secrets.h"
#include "kms/local_keystore.h"
#include "tests/fs/mount_test_base.h"

namespace dumpcrypt::testing {
namespace {

using ::testing::HasSubstr;

class MountHandoffTest : public MountTestBase {
 protected:
  // Seals `name` under k1, then leaves it only the slots `make` gives.
  void SealFor(
      const std::string& name,
      const std::function<absl::StatusOr<KeySlot>(const SecretBytes&)>& make) {
    Seal(name + ".dce", data_);
    auto store = LocalKeyStore::Open(keystore_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto rekeyed = RekeyEnvelope(
        src_ + "/" + name + ".dce", **store,
        [&](const std::vector<KeySlot>&,
            const SecretBytes& dk) -> absl::StatusOr<std::vector<KeySlot>> {
          absl::StatusOr<KeySlot> slot = make(dk);
          if (!slot.ok()) return slot.status();
          return std::vector<KeySlot>{*slot};
        });
    ASSERT_TRUE(rekeyed.ok()) << rekeyed.status();
  }
  void MountWith(const std::string& option) {
    auto mount =
        Mount::Start(src_, mnt_, {option, "audit_log=" + audit_}, log_);
    ASSERT_TRUE(mount.ok()) << mount.status() << "\n" << Log();
    mount_ = std::move(mount).value();
  }
  int OpenErrno(const std::string& shown) {
    const int fd = open((mnt_ + "/" + shown).c_str(), O_RDONLY);
    if (fd >= 0) close(fd);
    return fd >= 0 ? 0 : errno;
  }

  const std::vector<uint8_t> data_ = RandomBytes(300000, 21);
};

TEST_F(MountHandoffTest, APasswordAloneOpensPasswordSlots) {
  const std::string pw = dir_.File("pw");
  WriteSecretFile(pw, "incident 4711\n");
  WriteSecretFile(dir_.File("wrong"), "incident 4712\n");
  absl::StatusOr<PasswordKdf> kdf = NewPasswordKdf({1, 64, 1});
  ASSERT_TRUE(kdf.ok());
  absl::StatusOr<SecretBytes> kek = PasswordKek(AsBytes("incident 4711"), *kdf);
  ASSERT_TRUE(kek.ok());
  for (const char* name : {"one", "two"}) {
    SealFor(name, [&](const SecretBytes& dk) {
      return MakePasswordSlot(*kdf, *kek, dk);
    });
  }
  MountWith("password_file=" + pw);
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/one") == data_);
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/two") == data_);
  char value[256] = {};
  ASSERT_GT(getxattr((mnt_ + "/one").c_str(), "user.dumpcrypt.slots", value,
                     sizeof(value) - 1),
            0);
  EXPECT_STREQ(value, "password");
  mount_.reset();

  MountWith("password_file=" + dir_.File("wrong"));
  EXPECT_EQ(OpenErrno("one"), ENOKEY);
  mount_.reset();
  EXPECT_THAT(Audit(), HasSubstr("\"key\":\"password\""));
}

TEST_F(MountHandoffTest, AnIdentityAloneOpensItsRecipientSlots) {
  absl::StatusOr<PrivateKey> mine = PrivateKey::Generate(KeyType::kX25519);
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate(KeyType::kX25519);
  ASSERT_TRUE(mine.ok() && other.ok());
  SealFor("mine", [&](const SecretBytes& dk) {
    return MakeRecipientSlot(mine->public_key(), dk);
  });
  SealFor("theirs", [&](const SecretBytes& dk) {
    return MakeRecipientSlot(other->public_key(), dk);
  });
  absl::StatusOr<SecretBytes> pem = mine->Pem();
  ASSERT_TRUE(pem.ok());
  WriteSecretFile(dir_.File("id.pem"),
                  absl::string_view(reinterpret_cast<const char*>(pem->data()),
                                    pem->size()));
  MountWith("identity=" + dir_.File("id.pem"));
  EXPECT_TRUE(ReadFileOrFail(mnt_ + "/mine") == data_);
  EXPECT_EQ(OpenErrno("theirs"), ENOKEY);
}

}  // namespace
}  // namespace dumpcrypt::testing
