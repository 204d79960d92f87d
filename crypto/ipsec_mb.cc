#include "crypto/ipsec_mb.h"

#include <memory>

namespace dumpcrypt {
namespace {

struct FreeManager {
  void operator()(IMB_MGR* m) const { free_mb_mgr(m); }
};
using ManagerPtr = std::unique_ptr<IMB_MGR, FreeManager>;

ManagerPtr NewManager() {
  ManagerPtr m(alloc_mb_mgr(0));
  if (m == nullptr) return nullptr;
  IMB_ARCH arch;
  init_mb_mgr_auto(m.get(), &arch);
  if (imb_get_errno(m.get()) != 0) return nullptr;
  return m;
}

}  // namespace

const IMB_MGR* IpsecMb() {
  static const IMB_MGR* const manager = NewManager().release();
  return manager;
}

IMB_MGR* IpsecMbForThisThread() {
  thread_local const ManagerPtr manager = NewManager();
  return manager.get();
}

}  // namespace dumpcrypt
