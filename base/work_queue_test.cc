#include "base/work_queue.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

TEST(WorkQueueTest, AJobThatWaitsDoesNotHoldTheOthers) {
  absl::Notification release;
  std::atomic<int> done{0};
  {
    WorkQueue queue(2);
    queue.Run([&] { release.WaitForNotification(); });
    absl::Notification second;
    queue.Run([&] { second.Notify(); });
    EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(10)));
    for (int i = 0; i < 100; ++i) queue.Run([&] { ++done; });
    release.Notify();
  }  // every queued job runs before the queue goes
  EXPECT_EQ(done, 100);
}

}  // namespace
}  // namespace dumpcrypt
