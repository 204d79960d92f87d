#include "crypto/ipsec_mb.h"

namespace dumpcrypt {

const IMB_MGR* IpsecMb() {
  static const IMB_MGR* const manager = [] {
    IMB_MGR* m = alloc_mb_mgr(0);
    if (m == nullptr) return static_cast<IMB_MGR*>(nullptr);
    IMB_ARCH arch;
    init_mb_mgr_auto(m, &arch);
    if (imb_get_errno(m) != 0) {
      free_mb_mgr(m);
      return static_cast<IMB_MGR*>(nullptr);
    }
    return m;
  }();
  return manager;
}

}  // namespace dumpcrypt
