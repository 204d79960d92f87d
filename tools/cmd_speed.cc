// dumpcrypt speed: each crypto back end's throughput on this CPU, as
// `cryptsetup benchmark` and `gocryptfs -speed` report theirs.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "crypto/aes_gcm.h"
#include "crypto/backend.h"
#include "crypto/sector_tags.h"
#include "crypto/xts_cipher.h"
#include "nlohmann/json.hpp"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

constexpr size_t kSector = 4096;
constexpr size_t kBuffer = 1 << 20;

struct SpeedFlags {
  double seconds = 0.3;
  bool json = false;
};

struct Result {
  std::string name;
  CryptoBackend backend;
  double mb_per_s;
};

// Rate runs `pass` (one pass over kBuffer bytes) for at least `seconds`
// and three passes, and returns the rate in MB/s (10^6 bytes).
absl::StatusOr<double> Rate(double seconds,
                            const std::function<absl::Status()>& pass) {
  const absl::Time start = absl::Now();
  int passes = 0;
  do {
    DC_RETURN_IF_ERROR(pass());
    ++passes;
  } while (passes < 3 || absl::Now() - start < absl::Seconds(seconds));
  return passes * static_cast<double>(kBuffer) /
         absl::ToDoubleSeconds(absl::Now() - start) / 1e6;
}

absl::StatusOr<std::vector<Result>> Measure(CryptoBackend backend,
                                            double seconds) {
  std::vector<uint8_t> data(kBuffer, 0x5a);
  std::vector<uint8_t> tags(kBuffer / kSector * SectorTagger::kTagSize);
  std::vector<Result> out;
  for (auto direction : {XtsSectorCipher::Direction::kDecrypt,
                         XtsSectorCipher::Direction::kEncrypt}) {
    DC_ASSIGN_OR_RETURN(SecretBytes key,
                        SecretBytes::Random(XtsSectorCipher::kKeySize));
    DC_ASSIGN_OR_RETURN(
        auto xts, XtsSectorCipher::Create(std::move(key), direction, backend));
    DC_ASSIGN_OR_RETURN(double rate, Rate(seconds, [&] {
                          return xts->Transform(0, kSector,
                                                absl::MakeSpan(data));
                        }));
    out.push_back({direction == XtsSectorCipher::Direction::kDecrypt
                       ? "AES-256-XTS decrypt (4 KiB sectors)"
                       : "AES-256-XTS encrypt (4 KiB sectors)",
                   backend, rate});
  }
  DC_ASSIGN_OR_RETURN(SecretBytes tag_key, SecretBytes::Random(32));
  DC_ASSIGN_OR_RETURN(auto tagger,
                      SectorTagger::Create(std::move(tag_key), backend));
  DC_ASSIGN_OR_RETURN(double tag_rate, Rate(seconds, [&] {
                        return tagger->Compute(0, kSector, data,
                                               absl::MakeSpan(tags));
                      }));
  out.push_back({"AES-256-GMAC sector tags", backend, tag_rate});
  DC_ASSIGN_OR_RETURN(SecretBytes gcm_key, SecretBytes::Random(32));
  const std::vector<uint8_t> iv(12, 1);
  DC_ASSIGN_OR_RETURN(double gcm_rate, Rate(seconds, [&]() -> absl::Status {
                        DC_ASSIGN_OR_RETURN(
                            auto gcm,
                            AesGcmDecryptor::Create(gcm_key, iv, {}, backend));
                        return gcm->Update(data, absl::MakeSpan(data));
                      }));
  out.push_back({"AES-256-GCM decrypt (VMware .ve)", backend, gcm_rate});
  return out;
}

int RunSpeed(const SpeedFlags& f) {
  if (f.seconds <= 0 || f.seconds > 60) {
    return UsageError("speed", absl::InvalidArgumentError(
                                   "--seconds must be above 0, at most 60"));
  }
  absl::StatusOr<CryptoBackend> chosen = ChosenBackend(CryptoBackend::kDefault);
  if (!chosen.ok()) return Fail("speed", chosen.status());
  std::vector<Result> all;
  for (CryptoBackend backend : UsableBackends()) {
    absl::StatusOr<std::vector<Result>> r = Measure(backend, f.seconds);
    if (!r.ok()) return Fail("speed", r.status());
    all.insert(all.end(), r->begin(), r->end());
  }
  if (f.json) {
    nlohmann::json j = {{"used", BackendName(*chosen)},
                        {"results", nlohmann::json::array()}};
    for (const Result& r : all) {
      j["results"].push_back({{"primitive", r.name},
                              {"backend", BackendName(r.backend)},
                              {"mb_per_s", r.mb_per_s}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%-38s %-28s %10s\n", "primitive", "back end", "MB/s");
  for (const Result& r : all) {
    std::printf("%-38s %-28s %10.0f%s\n", r.name.c_str(),
                BackendName(r.backend).c_str(), r.mb_per_s,
                r.backend == *chosen ? "  *" : "");
  }
  std::printf("* used by the tools here: %s%s\n", BackendName(*chosen).c_str(),
              FastCryptoBuilt() && !FastCryptoUsable()
                  ? " (the fast back end is built but this CPU lacks AES-NI)"
                  : "");
  return kExitOk;
}

}  // namespace

void AddSpeedCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<SpeedFlags>();
  CLI::App* c = app.add_subcommand(
      "speed",
      "measure each crypto back end on this CPU (AES-XTS both ways, the GMAC "
      "sector tags, AES-GCM for VMware .ve files; MB/s on 1 MiB in memory) "
      "and say which one the tools use (DUMPCRYPT_CRYPTO=openssl|fast picks "
      "one)");
  c->add_option("--seconds", f->seconds, "time per measurement")
      ->capture_default_str();
  c->add_flag("--json", f->json, "the results as one JSON object");
  c->callback([f, exit_code] { *exit_code = RunSpeed(*f); });
}

}  // namespace dumpcrypt::cli
