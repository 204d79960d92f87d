// The process-wide Intel ipsec-mb manager (Debian: libipsec-mb-dev, amd64).
#ifndef DUMPCRYPT_CRYPTO_IPSEC_MB_H_
#define DUMPCRYPT_CRYPTO_IPSEC_MB_H_

#include <intel-ipsec-mb.h>

namespace dumpcrypt {

// IpsecMb returns the manager set up once for this CPU (VAES/VPCLMULQDQ
// where it has them), or nullptr if ipsec-mb cannot be initialised. Callers
// use only its function pointers (the direct API), which any thread may call
// with state of its own.
const IMB_MGR* IpsecMb();

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_IPSEC_MB_H_
