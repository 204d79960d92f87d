#include "fs/device_poller.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dumpcrypt {
namespace {

// A pipe standing in for the FUSE device.
class DevicePollerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pipe(fds_), 0); }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  void Send(const std::string& s) {
    ASSERT_EQ(write(fds_[1], s.data(), s.size()),
              static_cast<ssize_t>(s.size()));
  }
  std::string ReadWith(DevicePoller& poller) {
    char buf[64];
    const ssize_t n = poller.Read(fds_[0], buf, sizeof(buf));
    return n < 0 ? "error " + std::to_string(errno) : std::string(buf, n);
  }
  int fds_[2] = {-1, -1};
};

TEST_F(DevicePollerTest, TakesWhatIsAlreadyThere) {
  DevicePoller poller(absl::Seconds(5), [] { return false; });
  Send("request");
  EXPECT_EQ(ReadWith(poller), "request");
}

TEST_F(DevicePollerTest, TakesWhatArrivesWhilePolling) {
  DevicePoller poller(absl::Seconds(30), [] { return false; });
  std::thread sender([this] {
    usleep(20'000);
    Send("soon");
  });
  EXPECT_EQ(ReadWith(poller), "soon");
  sender.join();
}

TEST_F(DevicePollerTest, SleepsInReadAfterPolling) {
  DevicePoller poller(absl::Microseconds(100), [] { return false; });
  std::thread sender([this] {
    usleep(50'000);
    Send("late");
  });
  EXPECT_EQ(ReadWith(poller), "late");
  sender.join();
}

TEST_F(DevicePollerTest, AnEndingSessionEndsThePollWithEintr) {
  std::atomic<bool> stopping{false};
  DevicePoller poller(absl::Hours(1), [&] { return stopping.load(); });
  std::thread stopper([&] {
    usleep(20'000);
    stopping = true;
    usleep(500'000);
    Send("late");  // what a poller that missed the end would return
  });
  const std::string got = ReadWith(poller);
  stopper.join();
  ASSERT_EQ(got, "error " + std::to_string(EINTR));
  stopping = false;
  EXPECT_EQ(ReadWith(poller), "late");
}

TEST_F(DevicePollerTest, OneCallerPollsTheOthersRead) {
  absl::Mutex mu;
  std::set<std::thread::id> pollers;
  DevicePoller poller(absl::Hours(1), [&] {
    absl::MutexLock lock(&mu);
    pollers.insert(std::this_thread::get_id());
    return false;
  });
  auto polled = [&] {
    absl::MutexLock lock(&mu);
    return !pollers.empty();
  };
  std::string got[2];
  std::thread first([&] { got[0] = ReadWith(poller); });
  while (!polled()) usleep(1000);
  std::thread second([&] { got[1] = ReadWith(poller); });
  usleep(20'000);
  Send("1");
  usleep(20'000);
  Send("2");
  first.join();
  second.join();
  EXPECT_THAT(got, ::testing::UnorderedElementsAre("1", "2"));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(pollers.size(), 1u);  // `second` went straight to read(2)
}

TEST_F(DevicePollerTest, ZeroSpinOnlyReads) {
  std::atomic<int> polls{0};
  DevicePoller poller(absl::ZeroDuration(), [&] {
    ++polls;
    return false;
  });
  Send("x");
  EXPECT_EQ(ReadWith(poller), "x");
  EXPECT_EQ(polls.load(), 0);
}

TEST_F(DevicePollerTest, ReadErrorsPassThrough) {
  DevicePoller poller(absl::Milliseconds(1), [] { return false; });
  char buf[8];
  EXPECT_EQ(poller.Read(-1, buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace dumpcrypt
