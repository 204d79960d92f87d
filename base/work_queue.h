// WorkQueue: jobs run in order of arrival on a fixed set of threads of its
// own, so that work that may wait (a key fetch from a KMS that hangs) never
// holds the threads that must stay free for everything else.
#ifndef DUMPCRYPT_BASE_WORK_QUEUE_H_
#define DUMPCRYPT_BASE_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace dumpcrypt {

class WorkQueue {
 public:
  // Starts `threads` (at least 1) threads.
  explicit WorkQueue(int threads);
  // Runs every job already queued, then joins the threads.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Run queues `job`. Thread-safe.
  void Run(std::function<void()> job);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace dumpcrypt

#endif  // DUMPCRYPT_BASE_WORK_QUEUE_H_
