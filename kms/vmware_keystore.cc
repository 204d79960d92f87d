#include "kms/vmware_keystore.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "envelope/ve_envelope.h"

namespace dumpcrypt {
namespace {

constexpr char kPhrase[] =
    "This is obfuscation, not encryption. If you want encryption, use TPM.";
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr int kPbkdf2Iterations = 1;  // fuzz the parser, not PBKDF2
#else
constexpr int kPbkdf2Iterations = 100000;  // as ESXi derives it
#endif

absl::StatusOr<std::string> Base64(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0)
    return absl::InvalidArgumentError("not base64");
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<uint8_t*>(out.data()),
                                reinterpret_cast<const uint8_t*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return absl::InvalidArgumentError("not base64");
  size_t pad = 0;
  while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VmwareKeyStore>> VmwareKeyStore::Open(
    const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path, 1 << 20);
  if (!text.ok()) return Prefix(text.status(), "ESXi key store " + path);
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    std::string key(absl::StripAsciiWhitespace(kv.first));
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    if (!absl::ConsumePrefix(&value, "\"") ||
        !absl::ConsumeSuffix(&value, "\""))
      continue;
    fields[key] = std::string(value);
  }
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("ESXi key store ", path, ": ", what));
  };
  if (fields["mode"] != "NONE") {
    return absl::FailedPreconditionError(absl::StrCat(
        "ESXi key store ", path, ": mode '", fields["mode"],
        "' is not supported (only NONE; a TPM-sealed store needs the host)"));
  }
  std::map<std::string, std::string> enc;
  for (absl::string_view part : absl::StrSplit(fields["ConfigEncData"], ':')) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    enc[kv.first] = PercentDecode(kv.second);
  }
  auto key_id = Base64(enc["keyId"]);
  auto data1 = Base64(enc["data1"]);
  auto data2 = Base64(enc["data2"]);
  if (!key_id.ok() || key_id->size() != 16)
    return bad("ConfigEncData keyId is not a base64 UUID");
  if (!data1.ok() || !data2.ok())
    return bad("ConfigEncData data1/data2 are not base64");
  const auto* u = reinterpret_cast<const uint8_t*>(key_id->data());
  const std::string uuid = absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
      u[12], u[13], u[14], u[15]);
  SecretBytes password(data1->size() + sizeof(kPhrase) - 1);
  std::memcpy(password.data(), data1->data(), data1->size());
  std::memcpy(password.data() + data1->size(), kPhrase, sizeof(kPhrase) - 1);
  OPENSSL_cleanse(data1->data(), data1->size());
  SecretBytes key(32);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()),
                        static_cast<int>(password.size()),
                        reinterpret_cast<const uint8_t*>(data2->data()),
                        static_cast<int>(data2->size()), kPbkdf2Iterations,
                        EVP_sha256(), 32, key.data()) != 1) {
    return absl::InternalError("PBKDF2 failed");
  }
  return std::unique_ptr<VmwareKeyStore>(
      new VmwareKeyStore(path, uuid, std::move(key)));
}

absl::StatusOr<SecretBytes> VmwareKeyStore::Resolve(const KeyRef& ref) {
  if (ref.key_id != key_id_) {
    return absl::NotFoundError(absl::StrCat(
        "not in ", Describe(), " (it holds keyID '", key_id_, "')"));
  }
  return key_.Clone();
}

}  // namespace dumpcrypt
