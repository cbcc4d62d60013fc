#include "shard/gather_metrics.hh"

#include "runtime/metrics/exposition.hh"
#include "runtime/metrics/registry.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore {

task<std::vector<metrics::shard_snapshot>> gather_metrics() {
    std::vector<metrics::shard_snapshot> out;
    const unsigned shards = shard_count();
    out.reserve(shards);
    // One shard at a time: a scrape is rare, and this keeps at most one snapshot in flight.
    for (unsigned s = 0; s < shards; ++s) {
        out.push_back(co_await submit_to(s, [] { return metrics::local_registry().snapshot(this_shard_id()); }));
    }
    co_return out;
}

task<std::string> gather_prometheus_text() {
    std::vector<metrics::shard_snapshot> shards = co_await gather_metrics();
    co_return metrics::to_prometheus_text(shards);
}

} // namespace percore
