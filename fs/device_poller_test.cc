#include "fs/device_poller.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
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
  // Passes `count` requests from process `pid` (a fuse_in_header, 40
  // bytes, pid at offset 32) through `poller`.
  void Requests(DevicePoller& poller, uint32_t pid, int count) {
    std::string header(40, '\0');
    std::memcpy(header.data() + 32, &pid, sizeof(pid));
    for (int i = 0; i < count; ++i) {
      Send(header);
      ASSERT_EQ(ReadWith(poller), header);
    }
  }
  int fds_[2] = {-1, -1};
};

// A poller whose `stopping` callback counts the polls.
struct CountingPoller {
  explicit CountingPoller(absl::Duration spin)
      : poller(spin, [this] {
          ++polls;
          return false;
        }) {}
  std::atomic<int> polls{0};
  DevicePoller poller;
};

TEST_F(DevicePollerTest, TakesWhatIsAlreadyThere) {
  CountingPoller p(absl::Seconds(5));
  Requests(p.poller, 7, 10);
  p.polls = 0;
  Send("request");
  EXPECT_EQ(ReadWith(p.poller), "request");
  EXPECT_GT(p.polls.load(), 0);  // found by the poll, not by read(2)
}

TEST_F(DevicePollerTest, TakesWhatArrivesWhilePolling) {
  CountingPoller p(absl::Seconds(30));
  Requests(p.poller, 7, 10);
  std::thread sender([this] {
    usleep(20'000);
    Send("soon");
  });
  EXPECT_EQ(ReadWith(p.poller), "soon");
  sender.join();
  EXPECT_GT(p.polls.load(), 0);
}

TEST_F(DevicePollerTest, SleepsInReadAfterPolling) {
  CountingPoller p(absl::Microseconds(100));
  Requests(p.poller, 7, 10);
  p.polls = 0;
  std::thread sender([this] {
    usleep(200'000);
    Send("late");
  });
  EXPECT_EQ(ReadWith(p.poller), "late");
  sender.join();
  // It polled, gave up after about 100 µs (a poll(2) takes a microsecond or
  // more), and slept in read(2) through the rest of the 200 ms.
  EXPECT_GT(p.polls.load(), 0);
  EXPECT_LT(p.polls.load(), 50'000);
}

TEST_F(DevicePollerTest, AnEndingSessionEndsThePollWithEintr) {
  std::atomic<bool> stopping{false};
  DevicePoller poller(absl::Hours(1), [&] { return stopping.load(); });
  Requests(poller, 7, 10);
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
  Requests(poller, 7, 10);
  {
    absl::MutexLock lock(&mu);
    pollers.clear();
  }
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

TEST_F(DevicePollerTest, PollsOnlyAfterRequestsFromOneProcess) {
  CountingPoller p(absl::Milliseconds(1));
  for (uint32_t i = 0; i < 20; ++i) Requests(p.poller, 50 + i % 2, 1);
  EXPECT_EQ(p.polls.load(), 0);  // two processes taking turns
  Requests(p.poller, 7, 8);
  EXPECT_EQ(p.polls.load(), 0);
  Requests(p.poller, 7, 1);
  EXPECT_GT(p.polls.load(), 0);
}

// A reader that comes back late after a reply (busy, or waiting for a CPU)
// gains nothing from polling; on a loaded machine polling made it slower.
// 4000 requests are within the pause, 4200 are past it.
TEST_F(DevicePollerTest, ARequestLongAfterAMissedPollPausesPolling) {
  CountingPoller p(absl::Microseconds(200));
  Requests(p.poller, 7, 10);
  ASSERT_GT(p.polls.load(), 0);
  std::thread sender([this] {
    usleep(20'000);
    Send("late");
  });
  EXPECT_EQ(ReadWith(p.poller), "late");
  sender.join();
  p.polls = 0;
  Requests(p.poller, 7, 4000);
  EXPECT_EQ(p.polls.load(), 0);
  Requests(p.poller, 7, 200);
  EXPECT_GT(p.polls.load(), 0);
}

TEST_F(DevicePollerTest, ZeroSpinOnlyReads) {
  CountingPoller p(absl::ZeroDuration());
  Requests(p.poller, 7, 20);
  EXPECT_EQ(p.polls.load(), 0);
}

TEST_F(DevicePollerTest, ReadErrorsPassThrough) {
  DevicePoller poller(absl::Milliseconds(1), [] { return false; });
  char buf[8];
  EXPECT_EQ(poller.Read(-1, buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace dumpcrypt
