// dumpcrypt rekey: add or remove key slots of envelopes without touching
// their data; dumpcrypt keygen: a key pair for recipient slots.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_io.h"
#include "base/status_macros.h"
#include "crypto/kdf.h"
#include "envelope/envelope_opener.h"
#include "envelope/envelope_reader.h"
#include "envelope/envelope_writer.h"
#include "envelope/file_keys.h"
#include "envelope/rekey.h"
#include "kms/key_cache.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/slot_maker.h"

namespace dumpcrypt::cli {
namespace {

struct RekeyFlags {
  KeySourceFlags keys;
  NewSlotFlags add;
  std::vector<std::string> remove;
  std::string keep_only;
  std::vector<std::string> paths;
};

std::string Labels(const std::vector<KeySlot>& slots) {
  return absl::StrJoin(slots, "; ", [](std::string* out, const KeySlot& s) {
    out->append(SlotLabel(s));
  });
}

// EditFor removes the slots the flags name (each name must name a slot),
// then appends the new ones, refusing a key reference the file has.
SlotEdit EditFor(const RekeyFlags& f, const SlotMaker& maker) {
  return
      [&f, &maker](
          const std::vector<KeySlot>& slots,
          const SecretBytes& data_key) -> absl::StatusOr<std::vector<KeySlot>> {
        std::vector<KeySlot> kept;
        std::vector<bool> used(f.remove.size(), false);
        bool keep_found = f.keep_only.empty();
        for (const KeySlot& slot : slots) {
          bool drop = false;
          for (size_t i = 0; i < f.remove.size(); ++i) {
            if (SlotMatches(slot, f.remove[i])) drop = used[i] = true;
          }
          if (!f.keep_only.empty()) {
            const bool keep = SlotMatches(slot, f.keep_only);
            keep_found |= keep;
            drop |= !keep;
          }
          if (!drop) kept.push_back(slot);
        }
        for (size_t i = 0; i < f.remove.size(); ++i) {
          if (!used[i]) {
            return absl::InvalidArgumentError(
                absl::StrCat("no slot is named '", f.remove[i], "'"));
          }
        }
        if (!keep_found) {
          return absl::InvalidArgumentError(
              absl::StrCat("no slot is named '", f.keep_only, "'"));
        }
        DC_ASSIGN_OR_RETURN(std::vector<KeySlot> added, maker.Make(data_key));
        for (const KeySlot& slot : added) {
          for (const KeySlot& old : kept) {
            if (slot.kind == kSlotProviderKey && old.kind == kSlotProviderKey &&
                old.ref == slot.ref) {
              return absl::InvalidArgumentError(
                  absl::StrCat("it already has a slot for ", SlotLabel(slot)));
            }
          }
          kept.push_back(slot);
        }
        return kept;
      };
}

int RunRekey(const RekeyFlags& f) {
  const std::string cmd = "rekey";
  if (f.add.empty() && f.remove.empty() && f.keep_only.empty()) {
    return UsageError(
        cmd, absl::InvalidArgumentError("nothing to do: give --add-key, "
                                        "--add-password-file, --add-recipient, "
                                        "--remove-slot or --remove-all-but"));
  }
  auto resolver = f.keys.MakeResolver();
  if (!resolver.ok()) return Fail(cmd, resolver.status(), true);
  KeyCache keys(std::move(resolver).value(), KeyCache::Options());
  absl::StatusOr<SlotMaker> maker = SlotMaker::Create(f.add, &keys);
  if (!maker.ok()) return FailByCause(cmd, maker.status());
  const SlotEdit edit = EditFor(f, *maker);
  int exit = kExitOk;
  int done = 0;
  const FileVisitor rekey = [&](const std::string& path, bool named) {
    if (!named) {
      absl::StatusOr<std::shared_ptr<const Envelope>> probed =
          ProbeFile(path, {});
      if (!probed.ok() || (*probed)->format() != "dumpcrypt") return;
    }
    absl::StatusOr<RekeyResult> result = RekeyEnvelope(path, keys, edit);
    if (!result.ok()) {
      exit = WorseExit(exit, FailByCause(cmd, Prefix(result.status(), path)));
      return;
    }
    ++done;
    std::printf(
        "%s: %s%s\n", path.c_str(), Labels(result->after).c_str(),
        result->copied ? " (header outgrew its page: file rewritten)" : "");
  };
  ForEachFile(f.paths, rekey,
              [&](const std::string& path, const absl::Status& cause) {
                exit = WorseExit(exit, Fail(cmd, Prefix(cause, path)));
              });
  if (done == 0 && exit == kExitOk) {
    return Fail(cmd, absl::NotFoundError("no dumpcrypt envelope found"));
  }
  return exit;
}

struct RecryptFlags {
  KeySourceFlags keys;
  NewSlotFlags add;
  std::vector<std::string> paths;
};

// Recrypt writes `path` anew under a new data key beside it, checks the new
// file reads back as the old one, then renames it over the old one.
absl::Status Recrypt(const std::string& path, KeyResolver& keys,
                     const SlotMaker& maker,
                     std::vector<std::string>* dropped) {
  DC_ASSIGN_OR_RETURN(UniqueFd fd, OpenReadOnly(path, O_NONBLOCK));
  DC_RETURN_IF_ERROR(RequireRegularFile(fd.get()));
  absl::StatusOr<EnvelopeHeader> header = ReadHeader(fd.get());
  if (absl::IsFailedPrecondition(header.status())) {
    return absl::InvalidArgumentError("not a dumpcrypt envelope");
  }
  if (!header.ok()) return header.status();
  DC_ASSIGN_OR_RETURN(SecretBytes data_key, UnlockDataKey(*header, keys));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat");
  DC_ASSIGN_OR_RETURN(auto old_view,
                      EnvelopeReader::Open(std::move(fd), *header, data_key));
  std::vector<std::pair<KeyRef, SecretBytes>> keks;
  for (const KeySlot& slot : header->slots) {
    if (slot.kind != kSlotProviderKey) {
      dropped->push_back(SlotLabel(slot));
      continue;
    }
    absl::StatusOr<SecretBytes> kek = keys.ResolveForSealing(slot.ref);
    if (!kek.ok()) return Prefix(AsKeyFailure(kek.status()), SlotLabel(slot));
    keks.emplace_back(slot.ref, *std::move(kek));
  }
  SealOptions options;
  options.sector_size = header->sector_size;
  options.prefix_bytes = header->prefix_length;
  options.integrity = header->integrity;
  options.overwrite = true;
  options.metadata = header->metadata;
  const std::string temp =
      absl::StrCat(DirName(path), "/.", BaseName(path), ".recrypt");
  DC_ASSIGN_OR_RETURN(
      auto writer,
      EnvelopeWriter::Create(
          temp,
          [&](const SecretBytes& dk) -> absl::StatusOr<std::vector<KeySlot>> {
            std::vector<KeySlot> slots;
            for (const auto& [ref, kek] : keks) {
              DC_ASSIGN_OR_RETURN(KeySlot slot, MakeKeySlot(ref, kek, dk));
              slots.push_back(std::move(slot));
            }
            DC_ASSIGN_OR_RETURN(std::vector<KeySlot> added, maker.Make(dk));
            slots.insert(slots.end(), added.begin(), added.end());
            if (slots.empty()) {
              return absl::InvalidArgumentError(
                  "no slot would be left: give --add-key, --add-password-file "
                  "or --add-recipient");
            }
            return slots;
          },
          options));
  CleanupOnSignal cleanup(temp);
  Sha256Stream old_hash;
  Progress progress("recrypting", old_view->size());
  uint64_t done = 0;
  DC_RETURN_IF_ERROR(old_view->Stream(
      [&](absl::Span<const uint8_t> bytes) {
        old_hash.Update(bytes);
        progress.Update(done += bytes.size());
        return writer->Write(bytes);
      },
      nullptr));
  DC_RETURN_IF_ERROR(writer->Finish());
  auto check = [&]() -> absl::Status {
    DC_ASSIGN_OR_RETURN(auto view, OpenEnvelopeFile(temp, keys));
    Sha256Stream new_hash;
    DC_RETURN_IF_ERROR(view->Stream(
        [&](absl::Span<const uint8_t> bytes) {
          new_hash.Update(bytes);
          return absl::OkStatus();
        },
        nullptr));
    if (new_hash.Finish() != old_hash.Finish()) {
      return absl::DataLossError("the new file does not read back the same");
    }
    if (::chmod(temp.c_str(), st.st_mode & 07777) != 0)
      return ErrnoStatus(errno, "chmod");
    if (::rename(temp.c_str(), path.c_str()) != 0)
      return ErrnoStatus(errno, "rename into place");
    return absl::OkStatus();
  }();
  if (!check.ok()) ::unlink(temp.c_str());
  return check;
}

int RunRecrypt(const RecryptFlags& f) {
  const std::string cmd = "recrypt";
  auto resolver = f.keys.MakeResolver();
  if (!resolver.ok()) return Fail(cmd, resolver.status(), true);
  KeyCache keys(std::move(resolver).value(), KeyCache::Options());
  absl::StatusOr<SlotMaker> maker = SlotMaker::Create(f.add, &keys);
  if (!maker.ok()) return FailByCause(cmd, maker.status());
  int exit = kExitOk;
  for (const std::string& path : f.paths) {
    std::vector<std::string> dropped;
    absl::Status status = Recrypt(path, keys, *maker, &dropped);
    if (!status.ok()) {
      exit = WorseExit(exit, FailByCause(cmd, Prefix(status, path)));
      continue;
    }
    std::printf("%s: new data key\n", path.c_str());
    for (const std::string& slot : dropped) {
      std::fprintf(stderr,
                   "dumpcrypt recrypt: %s: slot '%s' dropped (re-add it with "
                   "--add-password-file or --add-recipient)\n",
                   path.c_str(), slot.c_str());
    }
  }
  return exit;
}

struct KeygenFlags {
  std::string type = "x25519";
  int bits = 3072;
  bool force = false;
  std::string output;
};

absl::Status WriteKeyFile(const std::string& path,
                          absl::Span<const uint8_t> data, bool force) {
  DC_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path, force));
  DC_RETURN_IF_ERROR(PwriteFull(file.fd(), data, 0));
  return file.Commit();
}

int RunKeygen(const KeygenFlags& f) {
  const std::string cmd = "keygen";
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate(
      f.type == "rsa" ? KeyType::kRsa : KeyType::kX25519, f.bits);
  if (!key.ok()) return Fail(cmd, key.status());
  absl::StatusOr<SecretBytes> pem = key->Pem();
  if (!pem.ok()) return Fail(cmd, pem.status());
  const std::string pub = key->public_key().Pem();
  const std::string pub_path = f.output + ".pub";
  // The private key is written last: no private key without its public one.
  absl::Status status = WriteKeyFile(
      pub_path, {reinterpret_cast<const uint8_t*>(pub.data()), pub.size()},
      f.force);
  if (!status.ok()) return Fail(cmd, Prefix(status, pub_path));
  if (::chmod(pub_path.c_str(), 0644) != 0) {
    return Fail(cmd, ErrnoStatus(errno, "chmod " + pub_path));
  }
  status = WriteKeyFile(f.output, pem->span(), f.force);
  if (!status.ok()) return Fail(cmd, Prefix(status, f.output));
  std::printf(
      "private key (keep it; mode 0600): %s\npublic key (give it to "
      "senders): %s\nfingerprint: %s\n",
      f.output.c_str(), pub_path.c_str(),
      FingerprintText(key->public_key().fingerprint()).c_str());
  return kExitOk;
}

}  // namespace

void AddRekeyCommands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RekeyFlags>();
  CLI::App* c = app.add_subcommand(
      "rekey",
      "add or remove key slots of dumpcrypt envelopes (FILEs, and those under "
      "DIRs) without touching their data: the data key is unwrapped with the "
      "key sources and wrapped anew; only the header is rewritten, in one "
      "write, so a crash leaves the old slots or the new ones. A slot is "
      "named by its keyID, 'password', or its recipient's fingerprint "
      "(sha256:HEX, 8 hex digits or more), as describe shows it");
  f->keys.Add(c);
  f->add.Add(c);
  c->add_option("--remove-slot", f->remove,
                "remove the slot of this name (keyID, password, sha256:...); "
                "may be repeated")
      ->group("Removing slots");
  c->add_option("--remove-all-but", f->keep_only,
                "remove every slot but this one (and the new ones)")
      ->group("Removing slots");
  c->add_option("PATH", f->paths, "envelopes, or folders to search for them")
      ->required();
  c->callback([f, exit_code] { *exit_code = RunRekey(*f); });

  auto r = std::make_shared<RecryptFlags>();
  CLI::App* rc = app.add_subcommand(
      "recrypt",
      "seal FILEs anew under a new data key, for when the old one must be "
      "treated as exposed (re-keying keeps the data key): every sector is "
      "decrypted and encrypted again, streaming, into a file beside the old "
      "one, which is replaced only once the new file reads back the same. "
      "Key slots are kept (password and recipient slots only if added again)");
  r->keys.Add(rc);
  r->add.Add(rc);
  rc->add_option("FILE", r->paths, "envelopes")->required()->check(AFile());
  rc->callback([r, exit_code] { *exit_code = RunRecrypt(*r); });

  auto k = std::make_shared<KeygenFlags>();
  CLI::App* g = app.add_subcommand(
      "keygen",
      "make a key pair for recipient slots: OUTPUT (the private key, mode "
      "0600, for --identity) and OUTPUT.pub (the public key, for "
      "--add-recipient and seal --recipient)");
  g->add_option("--type", k->type, "x25519 or rsa")
      ->capture_default_str()
      ->check(CLI::IsMember({"x25519", "rsa"}));
  g->add_option("--bits", k->bits, "RSA modulus size")
      ->capture_default_str()
      ->check(CLI::Range(2048, 8192));
  g->add_flag("--force", k->force, "replace existing files");
  g->add_option("OUTPUT", k->output, "private key file to write")->required();
  g->callback([k, exit_code] { *exit_code = RunKeygen(*k); });
}

}  // namespace dumpcrypt::cli
