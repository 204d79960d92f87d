#include "envelope/ve_envelope.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/bytes.h"
#include "base/status_macros.h"
#include "crypto/aes_ctr.h"
#include "crypto/aes_gcm.h"
#include "crypto/openssl_util.h"
#include "envelope/prefixed_view.h"

namespace dumpcrypt {
namespace {

constexpr char kAeadFooterMagic[] = "DataTransformAeadFooter";
constexpr char kCryptoFooterMagic[] = "DataTransformCryptoFooter";
constexpr uint32_t kMaxHeaderArea = 16 << 20;
constexpr size_t kChunk = 1 << 20;

uint32_t Le32(const uint8_t* p) { return static_cast<uint32_t>(LoadLe(p, 4)); }

}  // namespace

std::string PercentDecode(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    int hi, lo;
    if (in[i] == '%' && i + 2 < in.size() && (hi = HexValue(in[i + 1])) >= 0 &&
        (lo = HexValue(in[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

const VeAttribute* VeHeader::Find(const std::string& name) const {
  for (const VeAttribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string VeHeader::Attribute(const std::string& name) const {
  const VeAttribute* a = Find(name);
  return a == nullptr ? "" : a->value;
}

absl::StatusOr<std::vector<VeAttribute>> ParseVeAttributes(
    absl::Span<const uint8_t> area) {
  std::vector<VeAttribute> out;
  size_t pos = 0;
  auto cstring = [&](std::string* s) {
    const uint8_t* start = area.data() + pos;
    const void* nul = std::memchr(start, 0, area.size() - pos);
    if (nul == nullptr) return false;
    const size_t n = static_cast<const uint8_t*>(nul) - start;
    s->assign(reinterpret_cast<const char*>(start), n);
    pos += n + 1;
    return true;
  };
  while (pos < area.size() && area[pos] != 0) {
    VeAttribute a;
    if (area.size() - pos < 4)
      return absl::DataLossError("envelope attribute truncated");
    a.type = area[pos];
    a.flags = area[pos + 1];
    pos += 4;
    if (!cstring(&a.name))
      return absl::DataLossError("envelope attribute name unterminated");
    if (a.type == 0x0B) {
      if (!cstring(&a.value))
        return absl::DataLossError("attribute " + a.name +
                                   ": string unterminated");
    } else if (a.type == 0x0C) {
      if (area.size() - pos < 8)
        return absl::DataLossError("attribute " + a.name +
                                   ": length truncated");
      const uint64_t n = LoadLe(area.data() + pos, 8);
      pos += 8;
      if (n > area.size() - pos)
        return absl::DataLossError("attribute " + a.name +
                                   ": value past the header");
      a.value.assign(reinterpret_cast<const char*>(area.data() + pos), n);
      pos += n;
    } else {
      return absl::DataLossError(
          absl::StrCat("attribute ", a.name, ": unknown type ", a.type));
    }
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<VeHeader> ReadVeHeader(int fd, std::optional<uint64_t> offset) {
  std::vector<uint64_t> candidates =
      offset ? std::vector<uint64_t>{*offset} : std::vector<uint64_t>{0, 4096};
  VeHeader h;
  uint8_t fixed[512];
  bool found = false;
  for (uint64_t at : candidates) {
    DC_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, absl::MakeSpan(fixed), at));
    if (got == sizeof(fixed) &&
        std::memcmp(fixed, kVeMagic, sizeof(kVeMagic)) == 0) {
      h.offset = at;
      found = true;
      break;
    }
  }
  if (!found)
    return absl::FailedPreconditionError("not a VMware DataTransformEnvelope");
  h.size = Le32(fixed + 0x1F8);
  h.version = Le32(fixed + 0x1FC);
  if (h.version != 2)
    return absl::UnimplementedError(
        absl::StrCat("VMware envelope version ", h.version));
  if (h.size < 4 || h.size > kMaxHeaderArea)
    return absl::DataLossError("VMware envelope header size impossible");
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat");
  h.file_size = static_cast<uint64_t>(st.st_size);
  h.data_start = h.offset + 512 + h.size;
  if (h.file_size < h.data_start + 2 * kVeBlock)
    return absl::DataLossError("VMware envelope truncated");
  h.ciphertext_length = h.file_size - kVeBlock - h.data_start;
  h.header_bytes.resize(512 + h.size);
  DC_ASSIGN_OR_RETURN(size_t got,
                      PreadFull(fd, absl::MakeSpan(h.header_bytes), h.offset));
  if (got != h.header_bytes.size())
    return absl::DataLossError("VMware envelope header truncated");
  DC_ASSIGN_OR_RETURN(
      h.attributes,
      ParseVeAttributes(absl::MakeConstSpan(h.header_bytes).subspan(0x200)));
  uint8_t footer[kVeBlock];
  DC_ASSIGN_OR_RETURN(
      got, PreadFull(fd, absl::MakeSpan(footer), h.file_size - kVeBlock));
  if (got != kVeBlock || std::memcmp(footer, kAeadFooterMagic,
                                     sizeof(kAeadFooterMagic) - 1) != 0) {
    return absl::DataLossError("VMware envelope has no AEAD footer");
  }
  const uint32_t tag_size = Le32(footer + 4088);
  h.footer_version = Le32(footer + 4092);
  if (tag_size < 12 || tag_size > 16)
    return absl::DataLossError("VMware envelope tag size impossible");
  h.tag.assign(reinterpret_cast<const char*>(footer + 32), tag_size);
  return h;
}

KeyRef VeKeyRef(const std::string& key_info) {
  const size_t fqid = key_info.find("fqid/");
  if (fqid == std::string::npos) return KeyRef{"", key_info};
  absl::string_view rest = absl::string_view(key_info).substr(fqid + 5);
  rest = rest.substr(0, rest.find_first_of(",)"));
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
  if (parts.size() < 3) return KeyRef{"", key_info};
  return KeyRef{PercentDecode(parts[1]), PercentDecode(parts[2])};
}

std::vector<std::string> VeContexts(const std::vector<std::string>& first) {
  std::vector<std::string> all = first;
  for (const char* known : {"ESXConfiguration"}) {
    if (std::find(all.begin(), all.end(), known) == all.end())
      all.push_back(known);
  }
  return all;
}

absl::Status CheckVeKey(const VeHeader& header, const SecretBytes& key) {
  const std::string cipher = header.Attribute("vmware.cipherName");
  if (key.size() != 32)
    return absl::UnauthenticatedError("the key is not 32 bytes");
  if (const VeAttribute* hash = header.Find("vmware.keyHash")) {
    uint8_t digest[32];
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(
        EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (sha == nullptr ||
        EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(sha.get(), cipher.data(), cipher.size()) != 1 ||
        EVP_DigestUpdate(sha.get(), key.data(), key.size()) != 1 ||
        EVP_DigestFinal_ex(sha.get(), digest, nullptr) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "SHA-256");
    }
    if (hash->value.size() != sizeof(digest) ||
        CRYPTO_memcmp(digest, hash->value.data(), sizeof(digest)) != 0) {
      return absl::UnauthenticatedError(
          "the key does not match the envelope's keyHash (wrong key)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<VeReader>> VeReader::Open(
    UniqueFd fd, VeHeader header, const SecretBytes& key,
    const OpenPolicy& policy) {
  const std::string cipher = header.Attribute("vmware.cipherName");
  if (cipher != "AES-256-GCM")
    return absl::UnimplementedError("VMware envelope cipher '" + cipher + "'");
  DC_RETURN_IF_ERROR(CheckVeKey(header, key));
  const std::string iv = header.Attribute("vmware.iv");
  if (iv.size() != 12) return absl::DataLossError("vmware.iv is not 12 bytes");
  if (header.ciphertext_length > (uint64_t{1} << 36))
    return absl::DataLossError("VMware envelope over 64 GiB");
  DC_ASSIGN_OR_RETURN(std::unique_ptr<AesCtr> ctr, AesCtr::Create(key));
  std::vector<uint8_t> prefix(header.offset);
  DC_ASSIGN_OR_RETURN(size_t got,
                      PreadFull(fd.get(), absl::MakeSpan(prefix), 0));
  if (got != prefix.size())
    return absl::DataLossError("cleartext prefix truncated");
  std::unique_ptr<VeReader> reader(new VeReader(
      std::move(fd), std::move(header), iv, key.Clone(), std::move(ctr),
      std::move(prefix), VeContexts(policy.contexts)));
  const VeHeader& h = reader->header_;

  // The crypto footer, at the end of the last plaintext block.
  std::vector<uint8_t> last(kVeBlock);
  DC_RETURN_IF_ERROR(
      reader->DecryptAt(h.ciphertext_length - kVeBlock, absl::MakeSpan(last)));
  const uint8_t* footer = last.data() + kVeBlock - 512;
  const uint32_t padding = Le32(last.data() + kVeBlock - 8);
  if (std::memcmp(footer, kCryptoFooterMagic, sizeof(kCryptoFooterMagic) - 1) !=
          0 ||
      Le32(last.data() + kVeBlock - 4) != 2 ||
      padding > h.ciphertext_length - kVeBlock) {
    return absl::DataLossError(
        "no crypto footer after decryption (damaged file)");
  }
  reader->payload_length_ = h.ciphertext_length - kVeBlock - padding;
  if (policy.check_file_tag) {
    absl::Status tag = reader->CheckTag(nullptr, nullptr);
    if (!tag.ok() && (policy.require_file_tag || !absl::IsDataLoss(tag)))
      return tag;
  }
  return reader;
}

absl::Status VeReader::Stream(const ByteSink& sink,
                              const ProgressFn& progress) const {
  if (verified_context_.has_value())
    return EnvelopeView::Stream(sink, progress);
  return CheckTag(sink, progress);
}

absl::StatusOr<VerifyReport> VeReader::Verify(const ProgressFn& progress) {
  VerifyReport report;
  absl::Status tag = verified_context_.has_value()
                         ? absl::OkStatus()
                         : CheckTag(nullptr, progress);
  if (!tag.ok() && !absl::IsDataLoss(tag)) return tag;
  if (!tag.ok()) {
    report.damaged = 1;
    report.summary = absl::StrCat("FAILED: ", tag.message());
    return report;
  }
  report.summary = absl::StrCat(
      "OK: VMware envelope, GCM tag verified (context \"", *verified_context_,
      "\"), payload ", payload_length_, " bytes");
  return report;
}

absl::Status VeReader::CheckTag(const ByteSink& sink,
                                const ProgressFn& progress) const {
  const VeHeader& h = header_;
  const std::vector<std::string>& contexts = contexts_;
  const auto bytes = [](const std::string& s) {
    return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                               s.size());
  };
  std::vector<std::unique_ptr<AesGcmDecryptor>> gcm;
  for (const std::string& context : contexts) {
    std::vector<uint8_t> aad = h.header_bytes;
    aad.insert(aad.end(), context.begin(), context.end());
    DC_ASSIGN_OR_RETURN(std::unique_ptr<AesGcmDecryptor> one,
                        AesGcmDecryptor::Create(key_, bytes(nonce_), aad));
    gcm.push_back(std::move(one));
  }
  std::vector<uint8_t> in(kChunk);
  SecretBytes out(kChunk);  // plaintext: kept out of core dumps, cleansed
  for (uint64_t pos = 0; pos < h.ciphertext_length;) {
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(kChunk, h.ciphertext_length - pos));
    DC_ASSIGN_OR_RETURN(
        size_t got,
        PreadFull(fd_.get(), absl::MakeSpan(in.data(), n), h.data_start + pos));
    if (got != n)
      return absl::DataLossError("VMware envelope truncated while verifying");
    for (auto& one : gcm) {
      DC_RETURN_IF_ERROR(one->Update(absl::MakeConstSpan(in.data(), n),
                                     absl::MakeSpan(out.data(), n)));
    }
    if (sink != nullptr && pos < payload_length_) {
      DC_RETURN_IF_ERROR(sink(absl::MakeConstSpan(
          out.data(),
          static_cast<size_t>(std::min<uint64_t>(n, payload_length_ - pos)))));
    }
    pos += n;
    if (progress) progress(h.offset + std::min(pos, payload_length_));
  }
  for (size_t i = 0; i < gcm.size(); ++i) {
    if (gcm[i]->Finish(bytes(h.tag))) {
      verified_context_ = contexts[i];
      tag_status_ = absl::OkStatus();
      return absl::OkStatus();
    }
  }
  tag_status_ = absl::DataLossError(absl::StrCat(
      "no context verifies its GCM tag (tried: ", absl::StrJoin(contexts, ", "),
      "): the file was changed, or its context string is not known (give it "
      "with --context, or -o ve_context= to the mount)"));
  return tag_status_;
}

absl::Status VeReader::DecryptAt(uint64_t pos, absl::Span<uint8_t> data) const {
  DC_ASSIGN_OR_RETURN(size_t got,
                      PreadFull(fd_.get(), data, header_.data_start + pos));
  if (got != data.size())
    return absl::DataLossError("VMware envelope truncated");
  // GCM's counter block for byte `pos`: the nonce, then 2 + pos / 16.
  uint8_t counter[16];
  std::memcpy(counter, nonce_.data(), 12);
  const uint32_t block = static_cast<uint32_t>(2 + pos / 16);
  counter[12] = block >> 24;
  counter[13] = block >> 16;
  counter[14] = block >> 8;
  counter[15] = block;
  return ctr_->Transform(counter, pos % 16, data);
}

absl::StatusOr<size_t> VeReader::ReadAt(uint64_t offset,
                                        absl::Span<uint8_t> out) const {
  return ReadPrefixedView(prefix_, size(), offset, out,
                          [this](uint64_t pos, absl::Span<uint8_t> rest) {
                            return DecryptAt(pos, rest);
                          });
}

}  // namespace dumpcrypt
