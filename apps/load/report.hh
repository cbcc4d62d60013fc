/// \file
/// \brief percore-load's output: the progress line (stderr, every second) and the final summary (stdout, for
/// people or, with --json, one JSON object for scripts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/load/histogram.hh"
#include "apps/load/options.hh"

namespace percore::load {

/// Replies to one kind of request (a RESP command): measured, wrong (over the whole run), nil.
struct kind_counts {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t nil = 0;
};

struct summary {
    load_options options;
    unsigned shards = 1;
    std::uint64_t messages = 0;
    std::uint64_t errors = 0;
    /// From the start of the measurement to its end (or to the last measured reply).
    double duration_s = 0;
    histogram latency; // ns
    /// Per kind of request (protocol::kinds(), empty for echo).
    std::vector<std::string> kind_names;
    std::vector<kind_counts> kinds;
};

/// "[  3.0s]  412345 msgs/s  p50 23.5 us  p99 45.0 us  errors 0".
[[nodiscard]] std::string format_progress(double elapsed_s, double msgs_per_s, const histogram& latency,
                                          std::uint64_t errors, bool warming_up);

/// What the run is about to do (stderr, before it starts).
[[nodiscard]] std::string format_banner(const load_options& o, unsigned shards);

/// The human summary: several lines, ending in a newline.
[[nodiscard]] std::string format_summary(const summary& s);

/// One JSON object (and a newline) with the keys mode, connections, size, depth, duration_s, messages,
/// msgs_per_s, mb_per_s, p50_us, p90_us, p99_us, p999_us, max_us, errors; with kinds of request (resp) also
/// "commands": {"set": {"requests": N, "errors": N, "nil": N}, ...}.
[[nodiscard]] std::string format_json(const summary& s);

} // namespace percore::load
