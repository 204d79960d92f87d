// dumpcrypt rekey: add or remove key slots of envelopes without touching
// their data; dumpcrypt keygen: a key pair for recipient slots.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_io.h"
#include "base/status_macros.h"
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
