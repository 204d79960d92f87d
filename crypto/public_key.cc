#include "crypto/public_key.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "crypto/openssl_util.h"

namespace dumpcrypt {
namespace {

struct Deleter {
  void operator()(BIO* b) const { BIO_free(b); }
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

Owned<BIO> ReadBio(absl::string_view pem) {
  return Owned<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

using PkeyOp = int (*)(EVP_PKEY_CTX*);

absl::StatusOr<Owned<EVP_PKEY_CTX>> OaepContext(EVP_PKEY* key, PkeyOp init) {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr || init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "RSA-OAEP setup");
  }
  return ctx;
}

absl::StatusOr<SecretBytes> Pkcs8Pem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                    nullptr, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "writing a private key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::CopyOf(
      {reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)});
}

}  // namespace

absl::StatusOr<PublicKey> PublicKey::FromPkey(EVP_PKEY* raw) {
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  KeyType type;
  if (EVP_PKEY_is_a(raw, "X25519")) {
    type = KeyType::kX25519;
  } else if (EVP_PKEY_is_a(raw, "RSA")) {
    if (EVP_PKEY_get_bits(raw) < kMinRsaBits) {
      return absl::InvalidArgumentError(
          absl::StrCat("an RSA key of ", EVP_PKEY_get_bits(raw),
                       " bits is too small (", kMinRsaBits, " or more)"));
    }
    type = KeyType::kRsa;
  } else {
    return absl::InvalidArgumentError(
        "only X25519 and RSA keys can be recipients");
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(raw, &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "i2d_PUBKEY");
  const Sha256Digest fp = Sha256({der, static_cast<size_t>(len)});
  OPENSSL_free(der);
  return PublicKey(std::move(key), type, fp);
}

absl::StatusOr<PublicKey> PublicKey::FromPem(absl::string_view pem) {
  Owned<BIO> bio = ReadBio(pem);
  if (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr))
    return FromPkey(key);
  absl::StatusOr<PrivateKey> pair = PrivateKey::FromPem(pem);
  if (!pair.ok()) {
    return absl::InvalidArgumentError("not a PEM public or private key");
  }
  return pair->public_key();
}

absl::StatusOr<PublicKey> PublicKey::FromX25519(absl::Span<const uint8_t> raw) {
  if (raw.size() != kX25519Size) {
    return absl::InvalidArgumentError("an X25519 key is 32 bytes");
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr,
                                                 raw.data(), raw.size());
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "X25519 key");
  }
  return FromPkey(key);
}

absl::StatusOr<std::array<uint8_t, kX25519Size>> PublicKey::RawX25519() const {
  std::array<uint8_t, kX25519Size> raw;
  size_t len = raw.size();
  if (type_ != KeyType::kX25519 ||
      EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &len) != 1 ||
      len != raw.size()) {
    return absl::InvalidArgumentError("not an X25519 key");
  }
  return raw;
}

std::string PublicKey::Pem() const {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  std::string out;
  if (bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), key_.get()) == 1) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    out.assign(data, static_cast<size_t>(len));
  }
  return out;
}

absl::StatusOr<PrivateKey> PrivateKey::FromPem(absl::string_view pem) {
  Owned<BIO> bio = ReadBio(pem);
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        "not an unencrypted PEM private key (PKCS#8)");
  }
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  // The public half is a key of its own, so that PublicKey owns no secret.
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(raw, &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "i2d_PUBKEY");
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
  OPENSSL_free(der);
  if (pub == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "d2i_PUBKEY");
  }
  absl::StatusOr<PublicKey> public_key = PublicKey::FromPkey(pub);
  if (!public_key.ok()) return public_key.status();
  return PrivateKey(std::move(key), *std::move(public_key));
}

absl::StatusOr<PrivateKey> PrivateKey::Generate(KeyType type, int rsa_bits) {
  Owned<EVP_PKEY> key(type == KeyType::kX25519
                          ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
                          : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                              static_cast<size_t>(rsa_bits)));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "key generation");
  }
  absl::StatusOr<SecretBytes> pem = Pkcs8Pem(key.get());
  if (!pem.ok()) return pem.status();
  return FromPem({reinterpret_cast<const char*>(pem->data()), pem->size()});
}

absl::StatusOr<SecretBytes> PrivateKey::Pem() const {
  return Pkcs8Pem(key_.get());
}

absl::StatusOr<SecretBytes> X25519Agree(const PrivateKey& mine,
                                        const PublicKey& peer) {
  if (mine.public_key().type() != KeyType::kX25519 ||
      peer.type() != KeyType::kX25519) {
    return absl::InvalidArgumentError("X25519 needs two X25519 keys");
  }
  Owned<EVP_PKEY_CTX> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr));
  SecretBytes secret(kX25519Size);
  size_t len = secret.size();
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 ||
      len != kX25519Size) {
    // OpenSSL refuses an all-zero result, which a low-order key gives.
    return OpenSslError(absl::StatusCode::kInvalidArgument, "X25519");
  }
  return secret;
}

absl::StatusOr<std::vector<uint8_t>> RsaOaepEncrypt(
    const PublicKey& key, absl::Span<const uint8_t> plaintext) {
  if (key.type() != KeyType::kRsa) {
    return absl::InvalidArgumentError("RSA-OAEP needs an RSA key");
  }
  auto ctx = OaepContext(key.get(), EVP_PKEY_encrypt_init);
  if (!ctx.ok()) return ctx.status();
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx->get(), nullptr, &len, plaintext.data(),
                       plaintext.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "RSA-OAEP");
  }
  std::vector<uint8_t> out(len);
  if (EVP_PKEY_encrypt(ctx->get(), out.data(), &len, plaintext.data(),
                       plaintext.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "RSA-OAEP");
  }
  out.resize(len);
  return out;
}

absl::StatusOr<SecretBytes> RsaOaepDecrypt(
    const PrivateKey& key, absl::Span<const uint8_t> ciphertext) {
  if (key.public_key().type() != KeyType::kRsa) {
    return absl::InvalidArgumentError("RSA-OAEP needs an RSA key");
  }
  auto ctx = OaepContext(key.get(), EVP_PKEY_decrypt_init);
  if (!ctx.ok()) return ctx.status();
  SecretBytes out(static_cast<size_t>(EVP_PKEY_get_size(key.get())));
  size_t len = out.size();
  if (EVP_PKEY_decrypt(ctx->get(), out.data(), &len, ciphertext.data(),
                       ciphertext.size()) != 1) {
    return OpenSslError(absl::StatusCode::kUnauthenticated,
                        "RSA-OAEP decryption failed");
  }
  out.Truncate(len);
  return out;
}

}  // namespace dumpcrypt
