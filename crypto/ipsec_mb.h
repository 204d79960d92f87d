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

// IpsecMbForThisThread returns the calling thread's own manager, for the job
// API (a manager keeps its queue of jobs), set up on the thread's first call
// and freed when the thread ends (about 200 KB); nullptr if ipsec-mb cannot
// be initialised.
IMB_MGR* IpsecMbForThisThread();

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_CRYPTO_IPSEC_MB_H_
