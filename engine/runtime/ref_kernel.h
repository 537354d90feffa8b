#pragma once

#include <memory>

#include "engine/runtime/kernel.h"

namespace qbench {

// A kernel that runs the op's reference implementation on plain layouts.
std::unique_ptr<Kernel> MakeReferenceKernel();

}  // namespace qbench
