/// \file
/// \brief The one clock percore uses for timers, deadlines and accounting.
///
/// \code
/// percore::time_point deadline = percore::clock_type::now() + 5ms;
/// \endcode
#pragma once

#include <chrono>

namespace percore {

/// Monotonic clock; read through the vDSO, about 20 ns per call.
using clock_type = std::chrono::steady_clock;
using duration = clock_type::duration;
using time_point = clock_type::time_point;

} // namespace percore
