/// \file
/// \brief One shard's metrics as plain values: what the registry hands out and the exposition formats.
///
/// A snapshot owns its strings, so it can travel to another shard (the /metrics endpoint gathers one per shard over
/// the bus) and be formatted there.
///
/// \code
/// percore::metrics::shard_snapshot s = percore::metrics::local_registry().snapshot();
/// std::string text = percore::metrics::to_prometheus_text({&s, 1});
/// \endcode
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace percore::metrics {

enum class metric_type { counter, gauge, histogram };

[[nodiscard]] const char* to_string(metric_type t) noexcept;

/// Label name and value pairs, in the order they are written.
using labels = std::vector<std::pair<std::string, std::string>>;

struct series_snapshot {
    metrics::labels labels;
    /// Counters and gauges.
    double value = 0;
    /// Histograms: upper bounds, per-bucket counts (one more than the bounds: the last is +Inf), sum, count.
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> bucket_counts;
    double sum = 0;
    std::uint64_t count = 0;
};

struct family_snapshot {
    std::string name;
    std::string help;
    metric_type type = metric_type::gauge;
    std::vector<series_snapshot> series;
};

struct shard_snapshot {
    unsigned shard = 0;
    std::vector<family_snapshot> families;
};

} // namespace percore::metrics
