#include "crypto/public_key.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using testing::FromHex;
using testing::ToHex;

// RFC 7748 section 6.1.
constexpr char kAlicePrivate[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr char kAlicePublic[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr char kBobPublic[] =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr char kShared[] =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

// The PEM of RFC 8410's X25519 encodings: PKCS#8 and SubjectPublicKeyInfo.
std::string Pem(absl::string_view label, const std::vector<uint8_t>& der) {
  return absl::StrCat(
      "-----BEGIN ", label, "-----\n",
      absl::Base64Escape(absl::string_view(
          reinterpret_cast<const char*>(der.data()), der.size())),
      "\n-----END ", label, "-----\n");
}
std::string X25519PrivatePem(absl::string_view raw_hex) {
  return Pem("PRIVATE KEY", FromHex(absl::StrCat(
                                "302e020100300506032b656e04220420", raw_hex)));
}
std::vector<uint8_t> X25519SpkiDer(absl::string_view raw_hex) {
  return FromHex(absl::StrCat("302a300506032b656e032100", raw_hex));
}

TEST(PublicKeyTest, X25519AgreesAsRfc7748Says) {
  ASSERT_OK_AND_ASSIGN(PrivateKey alice,
                       PrivateKey::FromPem(X25519PrivatePem(kAlicePrivate)));
  ASSERT_OK_AND_ASSIGN(auto alice_raw, alice.public_key().RawX25519());
  EXPECT_EQ(ToHex(alice_raw), kAlicePublic);
  ASSERT_OK_AND_ASSIGN(PublicKey bob,
                       PublicKey::FromX25519(FromHex(kBobPublic)));
  ASSERT_OK_AND_ASSIGN(SecretBytes shared, X25519Agree(alice, bob));
  EXPECT_EQ(ToHex(shared.span()), kShared);
}

TEST(PublicKeyTest, FingerprintIsSha256OfTheSubjectPublicKeyInfo) {
  ASSERT_OK_AND_ASSIGN(
      PublicKey alice,
      PublicKey::FromPem(Pem("PUBLIC KEY", X25519SpkiDer(kAlicePublic))));
  EXPECT_EQ(alice.type(), KeyType::kX25519);
  EXPECT_EQ(ToHex(alice.fingerprint()),
            ToHex(Sha256(X25519SpkiDer(kAlicePublic))));
  ASSERT_OK_AND_ASSIGN(PrivateKey pair,
                       PrivateKey::FromPem(X25519PrivatePem(kAlicePrivate)));
  EXPECT_EQ(pair.public_key().fingerprint(), alice.fingerprint());
  // The public half of a private key PEM is accepted where a public key is.
  ASSERT_OK_AND_ASSIGN(PublicKey from_private,
                       PublicKey::FromPem(X25519PrivatePem(kAlicePrivate)));
  EXPECT_EQ(from_private.fingerprint(), alice.fingerprint());
  ASSERT_OK_AND_ASSIGN(PublicKey again, PublicKey::FromPem(alice.Pem()));
  EXPECT_EQ(again.fingerprint(), alice.fingerprint());
}

TEST(PublicKeyTest, LowOrderX25519PeerIsRefused) {
  ASSERT_OK_AND_ASSIGN(PrivateKey alice,
                       PrivateKey::FromPem(X25519PrivatePem(kAlicePrivate)));
  ASSERT_OK_AND_ASSIGN(PublicKey zero,
                       PublicKey::FromX25519(std::vector<uint8_t>(32, 0)));
  EXPECT_EQ(X25519Agree(alice, zero).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PublicKeyTest, RsaOaepRoundTripsOnlyWithItsKey) {
  ASSERT_OK_AND_ASSIGN(PrivateKey key,
                       PrivateKey::Generate(KeyType::kRsa, 2048));
  ASSERT_OK_AND_ASSIGN(PrivateKey other,
                       PrivateKey::Generate(KeyType::kRsa, 2048));
  const std::vector<uint8_t> secret = testing::RandomBytes(32, 7);
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sealed,
                       RsaOaepEncrypt(key.public_key(), secret));
  EXPECT_EQ(sealed.size(), 256u);
  ASSERT_OK_AND_ASSIGN(SecretBytes opened, RsaOaepDecrypt(key, sealed));
  EXPECT_EQ(ToHex(opened.span()), ToHex(secret));
  EXPECT_EQ(RsaOaepDecrypt(other, sealed).status().code(),
            absl::StatusCode::kUnauthenticated);
  sealed[100] ^= 1;
  EXPECT_EQ(RsaOaepDecrypt(key, sealed).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PublicKeyTest, GeneratedKeysSurviveTheirPem) {
  for (KeyType type : {KeyType::kX25519, KeyType::kRsa}) {
    ASSERT_OK_AND_ASSIGN(PrivateKey key, PrivateKey::Generate(type, 2048));
    ASSERT_OK_AND_ASSIGN(SecretBytes pem, key.Pem());
    const std::string text(reinterpret_cast<const char*>(pem.data()),
                           pem.size());
    EXPECT_NE(text.find("BEGIN PRIVATE KEY"), std::string::npos);
    ASSERT_OK_AND_ASSIGN(PrivateKey back, PrivateKey::FromPem(text));
    EXPECT_EQ(back.public_key().fingerprint(), key.public_key().fingerprint());
    EXPECT_EQ(back.public_key().type(), type);
  }
}

TEST(PublicKeyTest, RefusesWhatIsNoUsableKey) {
  EXPECT_EQ(PublicKey::FromPem("not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // RSA-1024 and Ed25519 are keys, but not recipients.
  EXPECT_EQ(PrivateKey::Generate(KeyType::kRsa, 1024).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string ed25519 = Pem(
      "PUBLIC KEY",
      FromHex(absl::StrCat("302a300506032b6570032100", std::string(64, 'a'))));
  EXPECT_EQ(PublicKey::FromPem(ed25519).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dumpcrypt
