/// \file
/// \brief The Prometheus text exposition format (version 0.0.4) of shard snapshots.
///
/// Families with the same name are merged across shards (HELP and TYPE written once, from the first shard that has
/// the family), every series gets `shard="N"` as its first label, histograms expand into cumulative
/// `_bucket{le=...}` series ending with `le="+Inf"`, then `_sum` and `_count`. Label values and HELP text are
/// escaped. A series repeated with the same labels on one shard is written once (the first); a family reported
/// with another type by a later shard keeps its first type and drops the others' series. A family without any
/// series is left out.
///
/// \code
/// std::vector<percore::metrics::shard_snapshot> shards = ...;   // gathered over the bus
/// response.body = percore::metrics::to_prometheus_text(shards); // Content-Type: prometheus_content_type
/// \endcode
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "runtime/metrics/snapshot.hh"

namespace percore::metrics {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

[[nodiscard]] std::string to_prometheus_text(std::span<const shard_snapshot> shards);

/// A sample value as the format writes it: integers without a fraction, otherwise the shortest round-trip
/// form, and `+Inf`, `-Inf`, `NaN`.
[[nodiscard]] std::string format_sample_value(double v);

/// Escapes a label value (backslash, double quote, newline).
void append_escaped_label_value(std::string& out, std::string_view v);

} // namespace percore::metrics
