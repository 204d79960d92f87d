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
  const bool to_stdout = f.output == "-";
  if (to_stdout && ::isatty(STDOUT_FILENO) == 1) {
    return UsageError(
        cmd, absl::InvalidArgumentError(
                 "not writing a decrypted dump to a terminal: give an OUTPUT "
                 "file, or redirect or pipe stdout"));
  }
  auto keys = f.keys.MakeResolver();
  if (!keys.ok()) return Fail(cmd, keys.status(), true);
  // A tag over the whole file (VMware) is checked as the file is written,
  // which is renamed into place only if it verifies. Bytes sent to stdout
  // cannot be taken back: there it is checked first, in a pass of its own.
  std::unique_ptr<EnvelopeView> view =
      OpenEnvelope(cmd, f.file, **keys, f.ve, to_stdout, &exit_code);
  if (view == nullptr) return exit_code;

  std::optional<AtomicFile> out;
  std::optional<CleanupOnSignal> cleanup;
  int out_fd = STDOUT_FILENO;
  if (!to_stdout) {
    auto file = AtomicFile::Create(f.output, f.force);
    if (!file.ok()) return Fail(cmd, Prefix(file.status(), f.output));
    out.emplace(std::move(file).value());
    cleanup.emplace(out->temp_path());
    out_fd = out->fd();
  }
  Progress progress("extracting", view->size());
  absl::Status write_error;
  const absl::Status status = view->Stream(
      [&](absl::Span<const uint8_t> plaintext) {
        write_error = WriteFull(out_fd, plaintext);
        return write_error;
      },
      [&](uint64_t done) { progress.Update(done); });
  if (!write_error.ok()) return Fail(cmd, Prefix(write_error, f.output));
  if (!status.ok()) return FailByCause(cmd, Prefix(status, f.file));
  if (out.has_value()) {
    absl::Status committed = out->Commit();
    if (!committed.ok()) return Fail(cmd, Prefix(committed, f.output));
  }
  return kExitOk;
}

// VerifyOne checks every sector of `file` and returns its exit status.
int VerifyOne(const std::string& file, KeyResolver& keys, const VeFlags& ve) {
  const std::string cmd = "verify";
  int exit_code = kExitOk;
  std::unique_ptr<EnvelopeView> view =
      OpenEnvelope(cmd, file, keys, ve, false, &exit_code);
  if (view == nullptr) return exit_code;
  Progress progress("verifying", view->size());
  absl::StatusOr<VerifyReport> report =
      view->Verify([&](uint64_t done) { progress.Update(done); });
  if (!report.ok()) return FailByCause(cmd, Prefix(report.status(), file));
  for (const std::string& damage : report->first_few)
    std::fprintf(stderr, "%s: %s\n", file.c_str(), damage.c_str());
  if (report->damaged > 0) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), report->summary.c_str());
    return kExitIntegrity;
  }
  std::printf("%s: %s\n", file.c_str(), report->summary.c_str());
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
