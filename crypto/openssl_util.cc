#include "crypto/openssl_util.h"

#include <openssl/err.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace dumpcrypt {

absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  std::string message(what);
  unsigned long err;
  bool first = true;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&message, first ? ": " : "; ", buf);
    first = false;
  }
  return absl::Status(code, message);
}

std::string AesCipherName(size_t key_size, absl::string_view mode) {
  if (key_size != 16 && key_size != 24 && key_size != 32) return "";
  return absl::StrCat("AES-", key_size * 8, "-", mode);
}

const EVP_CIPHER* FetchCipher(const char* name) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* ciphers = new std::map<std::string, EVP_CIPHER*>();
  absl::MutexLock lock(&mu);
  auto it = ciphers->find(name);
  if (it != ciphers->end()) return it->second;
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (cipher != nullptr) (*ciphers)[name] = cipher;
  return cipher;
}

}  // namespace dumpcrypt
