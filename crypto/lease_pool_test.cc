#include "crypto/lease_pool.h"

#include <memory>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace dumpcrypt {
namespace {

using IntPool = LeasePool<std::unique_ptr<int>>;

TEST(LeasePoolTest, MakesOneHandlePerConcurrentLeaseAndReusesThem) {
  int made = 0;
  IntPool pool([&made]() -> absl::StatusOr<std::unique_ptr<int>> {
    return std::make_unique<int>(++made);
  });
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_OK(a.status());
    ASSERT_OK(b.status());
    EXPECT_NE(a->get(), b->get());
  }
  EXPECT_EQ(made, 2);
  auto c = pool.Acquire();
  ASSERT_OK(c.status());
  EXPECT_EQ(made, 2);
  IntPool::Lease moved = *std::move(c);
  EXPECT_NE(moved.get(), nullptr);
}

TEST(LeasePoolTest, ReturnsTheFactoryError) {
  IntPool pool([]() -> absl::StatusOr<std::unique_ptr<int>> {
    return absl::InternalError("no handle");
  });
  auto lease = pool.Acquire();
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(lease.status().message(), "no handle");
}

}  // namespace
}  // namespace dumpcrypt
