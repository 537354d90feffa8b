#include "spec/job_state.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace qbench {
namespace {

TEST(JobStateTest, EveryStateHasOneRowAndRoundTripsByBothNames) {
  std::set<int> seen;
  for (const JobStateDef& d : kJobStates) {
    EXPECT_TRUE(seen.insert(static_cast<int>(d.state)).second) << d.api_name;
    EXPECT_EQ(ParseJobState(d.store_name), d.state);
    EXPECT_EQ(ParseApiJobState(d.api_name), d.state);
    EXPECT_EQ(JobStateName(d.state), d.store_name);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(ParseJobState("QUEUED"), std::nullopt);  // each name space is its own
  EXPECT_EQ(ParseApiJobState("queued"), std::nullopt);
  EXPECT_EQ(ParseJobState(""), std::nullopt);
}

TEST(JobStateTest, TerminalStatesAreTheThreeEnds) {
  std::set<std::string> terminal;
  for (const JobStateDef& d : kJobStates)
    if (IsTerminal(d.state)) terminal.insert(std::string(d.api_name));
  EXPECT_EQ(terminal, (std::set<std::string>{"SUCCEEDED", "FAILED", "CANCELLED"}));
}

}  // namespace
}  // namespace qbench
