// Checking a support bundle (dumpcrypt bundle --verify), and the names of
// its manifest members.
#ifndef DUMPCRYPT_TOOLS_BUNDLE_VERIFY_H_
#define DUMPCRYPT_TOOLS_BUNDLE_VERIFY_H_

#include <string>
#include <vector>

namespace dumpcrypt::cli {

inline constexpr char kManifest[] = "MANIFEST.json";
// The manifest sealed with the bundle's slots: it authenticates MANIFEST.json.
inline constexpr char kSealedManifest[] = "MANIFEST.json.dce";

// RunBundleVerify checks the bundle at `bundle` with the password of
// `password_file` and/or `identities`: the manifest against its sealed copy,
// then every member it lists present, of its size and sha256, each dumpcrypt
// envelope opened in place and every sector tag checked, and no member it
// does not list. Prints what fails and returns the exit status: 0 all good,
// 3 no key opens it, 4 anything missing, changed or damaged, 1 otherwise.
int RunBundleVerify(const std::string& bundle, const std::string& password_file,
                    const std::vector<std::string>& identities);

}  // namespace dumpcrypt::cli

#endif  // DUMPCRYPT_TOOLS_BUNDLE_VERIFY_H_
