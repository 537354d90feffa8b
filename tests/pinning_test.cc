// ThreadPinning (runtime/pinning.h): each OpenMP thread of the team on its own CPU while
// pinned, the process's mask back afterwards, and a clear error when there are too few
// CPUs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <pthread.h>

#include <set>

#include "engine/runtime/pinning.h"

namespace qbench {
namespace {

cpu_set_t ThreadMask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
  return set;
}

int AllowedCpus() {
  cpu_set_t set = ThreadMask();
  return CPU_COUNT(&set);
}

TEST(PinningTest, OneThreadIsPinnedAndRestored) {
  const cpu_set_t before = ThreadMask();
  {
    auto pin = ThreadPinning::Pin(1);
    ASSERT_TRUE(pin.ok()) << pin.status();
    ASSERT_EQ((*pin)->cpus().size(), 1u);
    cpu_set_t now = ThreadMask();
    EXPECT_EQ(CPU_COUNT(&now), 1);
    EXPECT_TRUE(CPU_ISSET((*pin)->cpus()[0], &now));
    EXPECT_THAT((*pin)->Describe(), ::testing::HasSubstr("thread 0 on CPU"));
  }
  cpu_set_t after = ThreadMask();
  EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "the original mask is restored";
}

TEST(PinningTest, TeamThreadsGetDistinctCpus) {
  if (AllowedCpus() < 2) GTEST_SKIP() << "needs 2 CPUs, this process may use " << AllowedCpus();
  auto pin = ThreadPinning::Pin(2);
  ASSERT_TRUE(pin.ok()) << pin.status();
  std::vector<int> seen(2, -1);
  std::vector<int> counts(2, 0);
  // A later region of the same size runs on the same pool threads, still pinned.
#pragma omp parallel num_threads(2)
  {
    cpu_set_t m = ThreadMask();
    const int t = omp_get_thread_num();
    counts[t] = CPU_COUNT(&m);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &m)) seen[t] = c;
  }
  EXPECT_EQ(counts, (std::vector<int>{1, 1}));
  EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), 2u);
  EXPECT_THAT(std::vector<int>(seen), ::testing::UnorderedElementsAreArray((*pin)->cpus()));
}

TEST(PinningTest, TooManyThreadsIsAClearError) {
  auto pin = ThreadPinning::Pin(AllowedCpus() + 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(pin.status())) << pin.status();
  EXPECT_THAT(std::string(pin.status().message()), ::testing::HasSubstr("CPUs"));
}

TEST(PinningTest, PreferredOrderCoversTheMaskOncePerCpu) {
  const cpu_set_t mask = ThreadMask();
  const std::vector<int> order = ThreadPinning::PreferredOrder(mask);
  EXPECT_EQ(static_cast<int>(order.size()), CPU_COUNT(&mask));
  EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), order.size());
  for (int c : order) EXPECT_TRUE(CPU_ISSET(c, &mask)) << c;
}

}  // namespace
}  // namespace qbench
