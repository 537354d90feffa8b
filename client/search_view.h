// A search job's candidates as the CLI shows them: a table (the front and the baselines
// first, then every other candidate), and an SVG of accuracy against latency and against
// size with the front and the baselines marked. Pure functions of the SearchResults proto.
#pragma once

#include <string>

#include "qbench/v1/qbench.pb.h"

namespace qbench::client {

// "search: max drop 0.50 points (validation), objective size at batch 64; 32 candidates
// (5 reused), 4 on the front" and one row per candidate: key, strategy, the drop with
// its 95% paired interval, quick latency, bytes, energy, objective, and marks (front,
// best, fallback, within budget). `all`: every candidate, else the front, the uniform
// models and the chosen and fallback ones.
std::string FormatSearchTable(const qbench::v1::SearchResults& s, bool all = false);

// A self-contained SVG (two panels: top-1 drop against quick latency, and against model
// size) with every timed candidate as a dot, the front joined by a line, the uniform
// models labelled by their choice, the budget as a dashed line, the chosen and fallback
// candidates ringed. `title` heads it.
std::string FrontSvg(const qbench::v1::SearchResults& s, const std::string& title);

// The whole SearchResults as JSON for scripts (`qbench compare --candidates FILE`): every
// candidate, the strategies and the rank correlations, under the API's own field names
// (snake_case, as in the .proto), zeros and empty fields included so that every
// candidate has the same keys. `job` is added as "job".
std::string SearchJson(const qbench::v1::SearchResults& s, const std::string& job);

}  // namespace qbench::client
