// dumpcrypt extract | verify: decrypt a whole envelope, or check it.
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "kms/key_cache.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace dumpcrypt::cli {
namespace {

constexpr size_t kChunk = 1 << 20;

struct Flags {
  KeySourceFlags keys;
  VeFlags ve;
  std::string file, output;
  std::vector<std::string> files;  // verify
  bool force = false;
};

int RunExtract(const Flags& f) {
  const std::string cmd = "extract";
  int exit_code = kExitOk;
  // A VMware envelope written to a file is decrypted and its tag checked in
  // one pass, the file kept only if the tag verifies. Bytes sent to stdout
  // cannot be taken back, so there the tag is checked first, in a pass of
  // its own.
  const bool to_stdout = f.output == "-";
  if (to_stdout && ::isatty(STDOUT_FILENO) == 1) {
    return UsageError(
        cmd, absl::InvalidArgumentError(
                 "not writing a decrypted dump to a terminal: give an OUTPUT "
                 "file, or redirect or pipe stdout"));
  }
  auto keys = f.keys.MakeResolver();
  if (!keys.ok()) return Fail(cmd, keys.status(), true);
  std::optional<Opened> reader =
      OpenAny(cmd, f.file, **keys, f.ve, to_stdout, &exit_code);
  if (!reader) return exit_code;
  // A VMware envelope extracts to its payload alone (no cleartext prefix).
  const uint64_t start = reader->vmware ? reader->vmware->header().offset : 0;

  std::optional<AtomicFile> out;
  std::optional<CleanupOnSignal> cleanup;
  int out_fd = STDOUT_FILENO;
  if (f.output != "-") {
    auto file = AtomicFile::Create(f.output, f.force);
    if (!file.ok()) return Fail(cmd, Prefix(file.status(), f.output));
    out.emplace(std::move(file).value());
    cleanup.emplace(out->temp_path());
    out_fd = out->fd();
  }
  Progress progress("extracting", reader->size());
  if (reader->vmware && !to_stdout) {
    uint64_t done = start;
    absl::Status write_error;
    absl::Status status = reader->vmware->Verify(
        f.ve.Contexts(), true, [&](absl::Span<const uint8_t> plaintext) {
          write_error = WriteFull(out_fd, plaintext);
          progress.Update(done += plaintext.size());
          return write_error;
        });
    if (!write_error.ok()) return Fail(cmd, Prefix(write_error, f.output));
    if (!status.ok()) return Fail(cmd, Prefix(status, f.file));
    status = out->Commit();
    return status.ok() ? kExitOk : Fail(cmd, Prefix(status, f.output));
  }
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t pos = start; pos < reader->size();) {
    auto got = reader->ReadAt(pos, absl::MakeSpan(buf));
    if (!got.ok()) return Fail(cmd, Prefix(got.status(), f.file));
    absl::Status status =
        WriteFull(out_fd, absl::MakeConstSpan(buf.data(), *got));
    if (!status.ok()) return Fail(cmd, Prefix(status, f.output));
    pos += *got;
    progress.Update(pos);
  }
  if (out.has_value()) {
    absl::Status status = out->Commit();
    if (!status.ok()) return Fail(cmd, Prefix(status, f.output));
  }
  return kExitOk;
}

// VerifyOne checks every sector of `file` and returns its exit status.
int VerifyOne(const std::string& file, KeyResolver& keys, const VeFlags& ve) {
  const std::string cmd = "verify";
  int exit_code = kExitOk;
  std::optional<Opened> opened = OpenAny(cmd, file, keys, ve, true, &exit_code);
  if (!opened) return exit_code;
  if (opened->vmware) {
    std::printf(
        "%s: OK: VMware envelope, GCM tag verified (context \"%s\"), payload "
        "%llu bytes\n",
        file.c_str(), opened->vmware->verified_context()->c_str(),
        static_cast<unsigned long long>(opened->vmware->payload_length()));
    return kExitOk;
  }
  const auto& reader = opened->dumpcrypt;
  const EnvelopeHeader& h = reader->header();
  Progress progress("verifying", reader->size());
  std::vector<uint8_t> buf(kChunk);
  uint64_t bad = 0;
  for (uint64_t pos = 0; pos < reader->size();) {
    auto got = reader->ReadAt(pos, absl::MakeSpan(buf));
    if (got.ok()) {
      pos += *got;
      progress.Update(pos);
      continue;
    }
    if (got.status().code() != absl::StatusCode::kDataLoss) {
      return Fail(cmd, Prefix(got.status(), file));
    }
    // Find every bad sector of this chunk, one sector at a time.
    const uint64_t end = std::min<uint64_t>(pos + kChunk, reader->size());
    uint64_t at = pos;
    while (at < end) {
      const uint64_t in_data = at < h.prefix_length ? 0 : at - h.prefix_length;
      const uint64_t next =
          at < h.prefix_length
              ? h.prefix_length
              : h.prefix_length + (in_data / h.sector_size + 1) * h.sector_size;
      const size_t len = static_cast<size_t>(std::min(next, end) - at);
      auto one = reader->ReadAt(at, absl::MakeSpan(buf.data(), len));
      if (!one.ok()) {
        ++bad;
        if (bad <= 20)
          std::fprintf(stderr, "%s: %s\n", file.c_str(),
                       std::string(one.status().message()).c_str());
      }
      at += len;
    }
    pos = end;
  }
  if (bad > 0) {
    std::fprintf(stderr, "%s: FAILED: %llu of %llu sectors damaged%s\n",
                 file.c_str(), static_cast<unsigned long long>(bad),
                 static_cast<unsigned long long>(h.SectorCount()),
                 bad > 20 ? " (first 20 listed)" : "");
    return kExitIntegrity;
  }
  if (h.integrity) {
    std::printf("%s: OK: header and all %llu sector tags verified\n",
                file.c_str(), static_cast<unsigned long long>(h.SectorCount()));
  } else {
    std::printf(
        "%s: header verified; sealed without integrity tags, so sector "
        "contents cannot be checked\n",
        file.c_str());
  }
  return kExitOk;
}

int RunVerify(const Flags& f) {
  auto source = f.keys.MakeResolver();
  if (!source.ok()) return Fail("verify", source.status(), true);
  KeyCache keys(std::move(source).value(), KeyCache::Options());
  int exit_code = kExitOk;
  int failed = 0;
  for (const std::string& file : f.files) {
    const int one = VerifyOne(file, keys, f.ve);
    failed += one != kExitOk;
    exit_code = WorseExit(exit_code, one);
  }
  if (f.files.size() > 1) {
    std::printf("%zu files: %zu verified, %d failed\n", f.files.size(),
                f.files.size() - failed, failed);
  }
  return exit_code;
}

}  // namespace

void AddExtractCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand(
      "extract",
      "decrypt a whole envelope to OUTPUT (mode 0600; appears only when "
      "complete and verified) or to - for stdout");
  f->keys.Add(c);
  f->ve.Add(c);
  c->add_flag("--force", f->force, "replace OUTPUT if it exists");
  c->add_option("FILE", f->file, "envelope")->required()->check(AFile());
  c->add_option("OUTPUT", f->output, "plaintext file, or -")->required();
  c->callback([f, exit_code] { *exit_code = RunExtract(*f); });
}

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand(
      "verify",
      "read every sector and check every tag of each FILE; list the damaged "
      "sectors; exit 4 if any file is damaged, else 3 if a key is missing or "
      "wrong, else 1 on any other error");
  f->keys.Add(c);
  f->ve.Add(c);
  c->add_option("FILE", f->files, "envelopes (each key is fetched once)")
      ->required()
      ->check(AFile());
  c->callback([f, exit_code] { *exit_code = RunVerify(*f); });
}

}  // namespace dumpcrypt::cli
