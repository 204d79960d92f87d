// dumpcrypt bundle: a support bundle (one uncompressed tar) of dumps re-keyed
// to a password or a recipient, with a manifest; and its verification.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/bytes.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "base/time_format.h"
#include "envelope/envelope_opener.h"
#include "envelope/envelope_writer.h"
#include "envelope/rekey.h"
#include "nlohmann/json.hpp"
#include "tools/bundle_verify.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/slot_maker.h"

namespace dumpcrypt::cli {
namespace {

struct BundleFlags {
  KeySourceFlags keys;
  NewSlotFlags slots;
  std::string output;
  std::string verify;
  bool force = false;
  std::vector<std::string> paths;
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// TarWriter appends members to a pax tar in `file`, hashing what it stores.
class TarWriter {
 public:
  explicit TarWriter(AtomicFile& file) : file_(file), a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_.get());
    archive_write_set_bytes_in_last_block(a_.get(), 1);
    ok_ = archive_write_open_fd(a_.get(), file.fd()) == ARCHIVE_OK;
  }
  absl::Status Begin(const std::string& path, uint64_t size) {
    if (!ok_) return Error("tar");
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(
        archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0600);
    archive_entry_set_mtime(e.get(), absl::ToUnixSeconds(absl::Now()), 0);
    hash_.emplace();
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK)
      return Error(path);
    return absl::OkStatus();
  }
  absl::Status Write(absl::Span<const uint8_t> bytes) {
    // The hash runs on the other core while the bytes are written.
    std::future<void> hashed =
        std::async(std::launch::async, [&] { hash_->Update(bytes); });
    const la_ssize_t wrote =
        archive_write_data(a_.get(), bytes.data(), bytes.size());
    hashed.wait();
    if (wrote != static_cast<la_ssize_t>(bytes.size())) return Error("write");
    file_.WroteUpTo(static_cast<uint64_t>(::lseek(file_.fd(), 0, SEEK_CUR)));
    return absl::OkStatus();
  }
  Sha256Digest End() { return hash_->Finish(); }
  absl::Status Close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return Error("close");
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view what) {
    return absl::InternalError(
        absl::StrCat(what, ": ", archive_error_string(a_.get())));
  }
  AtomicFile& file_;
  std::unique_ptr<archive, ArchiveFree> a_;
  std::optional<Sha256Stream> hash_;
  bool ok_ = false;
};

// CopyRange streams [offset, offset + length) of `fd` to `out`.
absl::Status CopyRange(int fd, uint64_t offset, uint64_t length, TarWriter& out,
                       Progress& progress, uint64_t* done) {
  std::vector<uint8_t> buf(1 << 20);
  while (length > 0) {
    const size_t n = std::min<uint64_t>(length, buf.size());
    DC_ASSIGN_OR_RETURN(size_t got,
                        PreadFull(fd, absl::MakeSpan(buf.data(), n), offset));
    if (got != n) return absl::DataLossError("file is shorter than it was");
    DC_RETURN_IF_ERROR(out.Write({buf.data(), n}));
    offset += n;
    length -= n;
    progress.Update(*done += n);
  }
  return absl::OkStatus();
}

// IsPlainCore: an ELF core file, or a kdump/diskdump vmcore.
bool IsPlainCore(int fd) {
  uint8_t head[18] = {};
  absl::StatusOr<size_t> got = PreadFull(fd, absl::MakeSpan(head), 0);
  if (!got.ok() || *got < sizeof(head)) return false;
  const bool elf_core = head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' &&
                        head[3] == 'F' && LoadLe(head + 16, 2) == 4;
  return elf_core || std::memcmp(head, "KDUMP   ", 8) == 0 ||
         std::memcmp(head, "DISKDUMP", 8) == 0;
}

struct Input {
  std::string path;    // on disk
  std::string member;  // in the tar
};

absl::StatusOr<std::vector<Input>> CollectInputs(
    const std::vector<std::string>& paths) {
  std::vector<Input> inputs;
  absl::Status failed;
  std::set<std::string> members;
  for (const std::string& root : paths) {
    ForEachFile(
        {root},
        [&](const std::string& path, bool named) {
          const std::string member =
              named ? std::filesystem::path(path).filename().string()
                    : std::filesystem::relative(path, root).string();
          if (member == kManifest || member == kSealedManifest ||
              !members.insert(member).second) {
            failed.Update(absl::InvalidArgumentError(absl::StrCat(
                path, ": the bundle already has a member ", member)));
          }
          inputs.push_back({path, member});
        },
        [&](const std::string& path, const absl::Status& cause) {
          failed.Update(Prefix(cause, path));
        });
  }
  if (!failed.ok()) return failed;
  return inputs;
}

}  // namespace

namespace {

// NoKeySource answers for a bundle of files that need no key.
class NoKeySource : public KeyResolver {
 public:
  absl::StatusOr<SecretBytes> Resolve(const KeyRef&) override {
    return absl::NotFoundError("no key source given (--keystore, --kms, ...)");
  }
  std::string Describe() const override { return "no key source"; }
};

// AddMember stores the file open as `fd` as `member`: a dumpcrypt envelope
// with its slots replaced by `maker`'s, anything else as it is (a plaintext
// core dump is refused). Fills `m` for the manifest.
absl::Status AddMember(int fd, const std::string& member, KeyResolver& keys,
                       const SlotMaker& maker, TarWriter& tar,
                       Progress& progress, uint64_t* done, nlohmann::json& m) {
  DC_ASSIGN_OR_RETURN(Probed probed, ProbeEnvelope(fd));
  if (probed.is_damaged()) return probed.damage;
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  m = {{"path", member}};
  if (probed.is_envelope() && probed.envelope->format() == "dumpcrypt") {
    DC_ASSIGN_OR_RETURN(
        RekeyPlan plan,
        PlanRekey(fd, keys,
                  [&](const std::vector<KeySlot>&, const SecretBytes& dk) {
                    return maker.Make(dk);
                  }));
    size = plan.after.data_offset + plan.units_length;
    DC_RETURN_IF_ERROR(tar.Begin(member, size));
    plan.head.resize(plan.after.data_offset, 0);
    DC_RETURN_IF_ERROR(tar.Write(plan.head));
    DC_RETURN_IF_ERROR(CopyRange(fd, plan.units_offset, plan.units_length, tar,
                                 progress, done));
    const DumpMetadata& meta = plan.before.metadata;
    m["type"] = "dumpcrypt";
    m["dump_type"] = std::string(DumpTypeName(meta.type));
    m["world"] = meta.world;
    m["host"] = meta.host;
    m["created"] = Rfc3339Unix(meta.created_unix);
    m["original_provider"] = plan.before.primary_key().provider;
    m["original_key_id"] = plan.before.primary_key().key_id;
  } else {
    if (!probed.is_envelope() && IsPlainCore(fd)) {
      return absl::FailedPreconditionError(
          "a plaintext core dump: a bundle never holds one; seal it first "
          "(dumpcrypt seal)");
    }
    DC_RETURN_IF_ERROR(tar.Begin(member, size));
    DC_RETURN_IF_ERROR(CopyRange(fd, 0, size, tar, progress, done));
    m["type"] = probed.is_envelope() ? "vmware" : "file";
    if (probed.is_envelope()) {
      const KeyRef ref = probed.envelope->key_refs().front();
      m["original_provider"] = ref.provider;
      m["original_key_id"] = ref.key_id;
    }
  }
  m["size"] = size;
  m["sha256"] = HexEncode(tar.End());
  return absl::OkStatus();
}

// SealText seals `text` to bytes with `maker`'s slots, through a hidden
// file beside `near` (".NAME.manifest.dce") that is removed at once.
absl::StatusOr<std::vector<uint8_t>> SealText(const std::string& text,
                                              const SlotMaker& maker,
                                              const std::string& near) {
  const std::string path =
      absl::StrCat(DirName(near), "/.", BaseName(near), ".manifest.dce");
  SealOptions options;
  options.overwrite = true;
  options.metadata.original_name = kManifest;
  DC_ASSIGN_OR_RETURN(
      auto writer,
      EnvelopeWriter::Create(
          path, [&](const SecretBytes& dk) { return maker.Make(dk); },
          options));
  DC_RETURN_IF_ERROR(writer->Write(AsBytes(text)));
  DC_RETURN_IF_ERROR(writer->Finish());
  absl::StatusOr<UniqueFd> fd = OpenReadOnly(path);
  ::unlink(path.c_str());
  if (!fd.ok()) return fd.status();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoStatus(errno, "stat");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  DC_ASSIGN_OR_RETURN(size_t got,
                      PreadFull(fd->get(), absl::MakeSpan(bytes), 0));
  bytes.resize(got);
  return bytes;
}

int RunBundle(const BundleFlags& f) {
  const std::string cmd = "bundle";
  if (f.slots.password_file.empty() && f.slots.recipients.empty()) {
    return UsageError(cmd, absl::InvalidArgumentError(
                               "give --password-file or --recipient: what "
                               "will open the bundle"));
  }
  if (!absl::EndsWith(f.output, ".tar")) {
    return UsageError(cmd, absl::InvalidArgumentError(
                               "a bundle is an uncompressed tar (envelopes do "
                               "not compress): name it NAME.tar"));
  }
  absl::StatusOr<std::vector<Input>> inputs = CollectInputs(f.paths);
  if (!inputs.ok()) return Fail(cmd, inputs.status());
  std::unique_ptr<KeyResolver> keys = std::make_unique<NoKeySource>();
  if (f.keys.given()) {
    auto made = f.keys.MakeResolver();
    if (!made.ok()) return Fail(cmd, made.status(), true);
    keys = std::move(made).value();
  }
  absl::StatusOr<SlotMaker> maker = SlotMaker::Create(f.slots, nullptr);
  if (!maker.ok()) return FailByCause(cmd, maker.status());
  absl::StatusOr<AtomicFile> out = AtomicFile::Create(f.output, f.force);
  if (!out.ok()) return Fail(cmd, Prefix(out.status(), f.output));
  uint64_t total = 0, done = 0;
  for (const Input& in : *inputs) {
    std::error_code ec;
    total += std::filesystem::file_size(in.path, ec);
  }
  TarWriter tar(*out);
  Progress progress("bundling", total);
  nlohmann::json members = nlohmann::json::array();
  int dumps = 0;
  for (const Input& in : *inputs) {
    nlohmann::json m;
    absl::Status status = [&]() -> absl::Status {
      DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(in.path, O_NONBLOCK));
      DC_RETURN_IF_ERROR(RequireRegularFile(fd.get()));
      return AddMember(fd.get(), in.member, *keys, *maker, tar, progress, &done,
                       m);
    }();
    if (!status.ok()) {
      return FailByCause(cmd, Prefix(status, in.path + " (nothing written)"));
    }
    dumps += m["type"] != "file";
    members.push_back(std::move(m));
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const nlohmann::json manifest = {
      {"format", "dumpcrypt bundle 1"},
      {"created", Rfc3339Unix(absl::ToUnixSeconds(absl::Now()))},
      {"host", host},
      {"members", members}};
  const std::string text = manifest.dump(2) + "\n";
  absl::StatusOr<std::vector<uint8_t>> sealed =
      SealText(text, *maker, f.output);
  absl::Status status = sealed.status();
  if (status.ok()) {
    for (const auto& [name, bytes] :
         {std::pair<const char*, absl::Span<const uint8_t>>{kManifest,
                                                            AsBytes(text)},
          {kSealedManifest, *sealed}}) {
      if (status.ok()) status = tar.Begin(name, bytes.size());
      if (status.ok()) status = tar.Write(bytes);
      tar.End();
    }
  }
  if (status.ok()) status = tar.Close();
  if (status.ok()) status = out->Commit();
  if (!status.ok()) return Fail(cmd, Prefix(status, f.output));
  std::printf("%s: %zu members (%d dumps re-keyed or kept sealed), %s\n",
              f.output.c_str(), members.size(), dumps,
              HumanBytes(done).c_str());
  return kExitOk;
}

}  // namespace

void AddBundleCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<BundleFlags>();
  CLI::App* c = app.add_subcommand(
      "bundle",
      "write a support bundle: one uncompressed tar of the dumps in FILEs and "
      "DIRs, each dumpcrypt envelope re-keyed so that only the bundle's "
      "password or recipient opens it (its data untouched, never "
      "decrypted), VMware .ve files and other files as they are, and "
      "MANIFEST.json (with a sealed copy that authenticates it). With "
      "--verify, check a bundle: every member present, every hash and every "
      "sector tag");
  f->keys.Add(c, /*required=*/false, /*password=*/false);
  c->add_option("-o,--output", f->output, "the bundle to write: NAME.tar");
  c->add_option("--verify", f->verify, "check this bundle instead");
  c->add_option("--password-file", f->slots.password_file,
                "the bundle's password: the first line of this file (mode "
                "0600)")
      ->group("The bundle's key");
  c->add_option("--recipient", f->slots.recipients,
                "a public key PEM (from dumpcrypt keygen): its private key "
                "opens the bundle; may be repeated")
      ->group("The bundle's key");
  f->slots.AddPasswordCost(c);
  c->add_flag("--force", f->force, "replace the output if it exists");
  c->add_option("PATH", f->paths, "dumps and folders to bundle");
  c->callback([f, exit_code] {
    if (!f->verify.empty() == !f->output.empty() ||
        f->verify.empty() == f->paths.empty()) {
      *exit_code = UsageError(
          "bundle", absl::InvalidArgumentError(
                        "give -o NAME.tar and PATHs, or --verify NAME.tar"));
      return;
    }
    *exit_code = f->verify.empty()
                     ? RunBundle(*f)
                     : RunBundleVerify(f->verify, f->slots.password_file,
                                       f->keys.identities);
  });
}

}  // namespace dumpcrypt::cli
