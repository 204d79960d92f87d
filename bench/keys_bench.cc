// keys_bench: mount + `ls -l` + reading 1,000 small dumps sealed under 10
// keyIDs held by a local PyKMIP server: the total time and the KMIP requests
// the mount made, counted in the server's own log (one Get per keyID is the
// aim). Side by side in the same run: the same dumps with the 10 keys in a
// local key store, and the plaintext files read directly.
// Usage: DUMPCRYPT_BIN_DIR=BUILD/tools keys_bench [REPS]
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "kms/kmip_provider.h"
#include "kms/kms_config.h"
#include "tests/fs/mount_fixture.h"
#include "tests/kms/pykmip_fixture.h"
#include "tests/run_tool.h"
#include "tests/testutil.h"

namespace dumpcrypt::testing {
namespace {

constexpr int kDumps = 1000;
constexpr int kKeys = 10;
constexpr size_t kDumpBytes = 64 << 10;

int Fail(const std::string& what) {
  std::fprintf(stderr, "keys_bench: %s\n", what.c_str());
  return 1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ReadAll lists `dir` with `ls -l` and reads every dump in it; false if any
// read does not give back `expected` (what was sealed, made before the
// clock starts).
bool ReadAll(const std::string& dir,
             const std::vector<std::vector<uint8_t>>& expected) {
  if (RunTool({"ls", "-l", dir}).exit_code != 0) return false;
  for (int i = 0; i < kDumps; ++i) {
    const std::string path = dir + "/dump" + std::to_string(i);
    if (ReadFileOrFail(path) != expected[i]) return false;
  }
  return true;
}

int Run(int reps) {
  TempDir dir;
  auto cluster = PyKmipCluster::Start(dir.path(), 1);
  if (!cluster.ok()) return Fail(std::string(cluster.status().message()));
  const std::string conf =
      (*cluster)->WriteConfig("kms.toml", "kms-a", {(*cluster)->Address(0)});
  auto config = LoadKmsConfig(conf);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  auto provider = KmipProvider::Create(config->providers[0], nullptr);
  if (!provider.ok()) return Fail(std::string(provider.status().message()));
  const std::string keystore = dir.File("keystore");
  std::vector<std::string> ids;
  for (int k = 0; k < kKeys; ++k) {
    const std::vector<uint8_t> key = RandomBytes(32, 5000 + k);
    auto id = (*provider)->RegisterKey("bench-" + std::to_string(k),
                                       SecretBytes::CopyOf(key));
    if (!id.ok()) return Fail(std::string(id.status().message()));
    ids.push_back(*id);
    const std::string hex = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(key.data()), 32));
    if (RunTool({ToolPath("dumpcrypt"), "keystore", "add", "--keystore",
                 keystore, "--key-id", *id, "--key-hex", "-"},
                hex)
            .exit_code != 0) {
      return Fail("dumpcrypt keystore add failed");
    }
  }
  const std::string src = dir.File("src"), plain = dir.File("plain"),
                    mnt = dir.File("mnt");
  for (const std::string& d : {src, plain, mnt}) mkdir(d.c_str(), 0700);
  std::vector<std::vector<uint8_t>> expected;
  for (int i = 0; i < kDumps; ++i) {
    const std::vector<uint8_t>& data =
        expected.emplace_back(RandomBytes(kDumpBytes, i));
    const std::string name = "/dump" + std::to_string(i);
    WriteFileOrDie(plain + name, data);
    const int k = i % kKeys;
    if (!SealBuffer(src + name + ".dce", data, SealOptions(),
                    SecretBytes::CopyOf(RandomBytes(32, 5000 + k)),
                    {"kms-a", ids[k]})
             .ok()) {
      return Fail("sealing failed");
    }
  }

  // Mounted runs a fresh mount with `option` (the key source) through a
  // listing and a read of every dump, and unmounts.
  auto mounted = [&](const std::string& option) {
    auto mount = Mount::Start(src, mnt, {option}, dir.File("daemon.log"));
    const bool ok = mount.ok() && ReadAll(mnt, expected);
    if (mount.ok()) (*mount)->Unmount();
    return ok;
  };
  struct Case {
    std::string name;
    std::function<bool()> run;
    std::vector<double> seconds;
    std::vector<int> requests;
  };
  std::vector<Case> cases = {
      {"dumpcryptfs, keys from PyKMIP",
       [&] { return mounted("kms=" + conf); },
       {},
       {}},
      {"dumpcryptfs, keys from a local key store",
       [&] { return mounted("keystore=" + keystore); },
       {},
       {}},
      {"plaintext files read directly",
       [&] { return ReadAll(plain, expected); },
       {},
       {}},
  };
  for (int rep = 0; rep < reps; ++rep) {
    for (Case& c : cases) {
      const int before = (*cluster)->CountRequests(0);
      const absl::Time start = absl::Now();
      if (!c.run()) return Fail(c.name + ": a read failed");
      c.seconds.push_back(absl::ToDoubleSeconds(absl::Now() - start));
      c.requests.push_back((*cluster)->CountRequests(0) - before);
    }
  }
  std::printf(
      "%d dumps of %zu KiB under %d keyIDs; mount + ls -l + read all; "
      "median of %d runs\n\n",
      kDumps, kDumpBytes >> 10, kKeys, reps);
  std::printf("%-42s %9s %9s %14s\n", "case", "seconds", "vs plain",
              "KMIP requests");
  const double base = Median(cases.back().seconds);
  for (const Case& c : cases) {
    const double s = Median(c.seconds);
    std::printf("%-42s %9.3f %8.2fx %14d\n", c.name.c_str(), s, s / base,
                *std::max_element(c.requests.begin(), c.requests.end()));
  }
  return 0;
}

}  // namespace
}  // namespace dumpcrypt::testing

int main(int argc, char** argv) {
  return dumpcrypt::testing::Run(argc > 1 ? std::atoi(argv[1]) : 3);
}
