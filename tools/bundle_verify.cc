#include "tools/bundle_verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>

#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "fs/tar_index.h"
#include "kms/held_secrets.h"
#include "kms/kms_config.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"

namespace dumpcrypt::cli {
namespace {

// OpenMember opens the dumpcrypt envelope stored as `m` in the tar `fd`.
absl::StatusOr<std::unique_ptr<EnvelopeView>> OpenMember(int fd,
                                                         const TarMember& m,
                                                         KeyResolver& keys) {
  const ProbeOptions where{m.offset, m.size};
  DC_ASSIGN_OR_RETURN(Probed probed, ProbeEnvelope(fd, where));
  if (probed.is_damaged()) return probed.damage;
  if (!probed.is_envelope() || probed.envelope->format() != "dumpcrypt") {
    return absl::DataLossError("not a dumpcrypt envelope");
  }
  const int dup = ::dup(fd);
  if (dup < 0) return ErrnoStatus(errno, "dup");
  return probed.envelope->Open(UniqueFd(dup), keys, {});
}

absl::StatusOr<std::string> HashMember(int fd, const TarMember& m) {
  Sha256Stream hash;
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t at = 0; at < m.size;) {
    const size_t n = std::min<uint64_t>(buf.size(), m.size - at);
    DC_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, absl::MakeSpan(buf.data(), n),
                                              m.offset + at));
    if (got != n) return absl::DataLossError("tar is truncated");
    hash.Update({buf.data(), n});
    at += n;
  }
  return HexEncode(hash.Finish());
}

}  // namespace

int RunBundleVerify(const std::string& bundle, const std::string& password_file,
                    const std::vector<std::string>& identities) {
  const std::string cmd = "bundle --verify";
  std::vector<std::unique_ptr<KeyResolver>> sources;
  if (absl::Status s = AddHeldSecrets(password_file, identities, &sources);
      !s.ok()) {
    return Fail(cmd, s, true);
  }
  if (sources.empty()) {
    return UsageError(
        cmd, absl::InvalidArgumentError("give the bundle's --password-file or "
                                        "--identity"));
  }
  ChainResolver keys(std::move(sources));
  absl::StatusOr<UniqueFd> fd = OpenReadOnly(bundle, O_NONBLOCK);
  if (fd.ok()) {
    if (absl::Status s = RequireRegularFile(fd->get()); !s.ok()) fd = s;
  }
  if (!fd.ok()) return Fail(cmd, Prefix(fd.status(), bundle));
  absl::StatusOr<std::vector<TarMember>> listed = ListTar(fd->get());
  if (!listed.ok()) return FailByCause(cmd, Prefix(listed.status(), bundle));
  std::map<std::string, TarMember> members;
  for (const TarMember& m : *listed) members[m.path] = m;
  int exit = kExitOk;
  auto problem = [&](const std::string& what, const absl::Status& cause) {
    exit =
        WorseExit(exit, FailByCause(cmd, Prefix(cause, bundle + ": " + what)));
  };
  // The manifest is trusted only as its sealed copy says.
  if (!members.count(kManifest) || !members.count(kSealedManifest)) {
    problem("manifest", absl::DataLossError("MANIFEST.json or its sealed "
                                            "copy is missing"));
    return exit;
  }
  const TarMember& plain = members[kManifest];
  std::string text(plain.size, '\0');
  absl::StatusOr<size_t> got = PreadFull(
      fd->get(), {reinterpret_cast<uint8_t*>(text.data()), text.size()},
      plain.offset);
  absl::StatusOr<std::vector<uint8_t>> sealed =
      [&]() -> absl::StatusOr<std::vector<uint8_t>> {
    DC_ASSIGN_OR_RETURN(auto view,
                        OpenMember(fd->get(), members[kSealedManifest], keys));
    std::vector<uint8_t> bytes(view->size());
    DC_ASSIGN_OR_RETURN(size_t n, view->ReadAt(0, absl::MakeSpan(bytes)));
    bytes.resize(n);
    return bytes;
  }();
  if (!sealed.ok()) {
    problem(kSealedManifest, sealed.status());
    return exit;
  }
  if (!got.ok() || std::string(sealed->begin(), sealed->end()) != text) {
    problem(kManifest, absl::DataLossError("differs from its sealed copy: "
                                           "the manifest was changed"));
    return exit;
  }
  const nlohmann::json manifest = nlohmann::json::parse(text, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("members") ||
      !manifest["members"].is_array()) {
    problem(kManifest, absl::DataLossError("is not a bundle manifest"));
    return exit;
  }
  size_t checked = 0;
  std::set<std::string> listed_in_manifest = {kManifest, kSealedManifest};
  for (const auto& m : manifest["members"]) {
    if (!m.is_object() || !m.contains("path") || !m["path"].is_string() ||
        !m.contains("size") || !m["size"].is_number_unsigned() ||
        !m.contains("sha256") || !m["sha256"].is_string()) {
      problem(kManifest, absl::DataLossError("lists a malformed member"));
      continue;
    }
    const std::string path = m["path"];
    listed_in_manifest.insert(path);
    auto it = members.find(path);
    if (it == members.end()) {
      problem(path, absl::DataLossError("missing from the tar"));
      continue;
    }
    absl::StatusOr<std::string> hash = HashMember(fd->get(), it->second);
    if (!hash.ok() || it->second.size != m.value("size", uint64_t{0}) ||
        *hash != m.value("sha256", "")) {
      problem(path, absl::DataLossError("its bytes differ from the manifest's "
                                        "size or sha256"));
      continue;
    }
    if (m.contains("type") && m["type"] == "dumpcrypt") {
      absl::StatusOr<VerifyReport> report =
          [&]() -> absl::StatusOr<VerifyReport> {
        DC_ASSIGN_OR_RETURN(auto view, OpenMember(fd->get(), it->second, keys));
        return view->Verify(nullptr);
      }();
      if (!report.ok()) {
        problem(path, report.status());
        continue;
      }
      if (report->damaged > 0) {
        problem(path, absl::DataLossError(report->summary));
        continue;
      }
    }
    ++checked;
  }
  for (const auto& [path, member] : members) {
    if (!listed_in_manifest.count(path)) {
      problem(path, absl::DataLossError("is not in the manifest"));
    }
  }
  if (exit == kExitOk) {
    std::printf("OK: %s: %zu members, every hash and sector tag verified\n",
                bundle.c_str(), checked);
  }
  return exit;
}

}  // namespace dumpcrypt::cli
