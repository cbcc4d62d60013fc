#include <string>

#include "runtime/metrics/registry.hh"
#include "shard/gather_metrics.hh"
#include "shard/submit_to.hh"
#include "tests/support/sharded_test.hh"

using namespace percore;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

/// The value of the sample whose line starts with `series ` (-1 when absent).
double sample(const std::string& text, const std::string& series) {
    const std::string prefix = series + " ";
    for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos + 1)) {
        if (pos == 0 || text[pos - 1] == '\n') {
            return std::stod(text.substr(pos + prefix.size()));
        }
    }
    return -1;
}

thread_local metrics::counter tl_hits;
thread_local metrics::registration tl_hits_registration;

} // namespace

TEST_SUITE("shard/gather_metrics") {
    SHARDED_TEST_CASE(3, "gather_metrics takes each shard's snapshot on that shard and labels it") {
        co_await invoke_on_all([] {
            tl_hits_registration = metrics::local_registry().add("test_hits_total", "Hits", {}, tl_hits);
            tl_hits += 10 + this_shard_id();
        });
        const std::string text = co_await gather_prometheus_text();
        CHECK(sample(text, "test_hits_total{shard=\"0\"}") == 10);
        CHECK(sample(text, "test_hits_total{shard=\"1\"}") == 11);
        CHECK(sample(text, "test_hits_total{shard=\"2\"}") == 12);
        CHECK(contains(text, "# TYPE test_hits_total counter\n"));
        co_await invoke_on_all([] { tl_hits_registration.reset(); });
    }

    SHARDED_TEST_CASE(2, "bus metrics count the messages sent to and received from each peer") {
        const std::string before = co_await gather_prometheus_text();
        const double sent0 = sample(before, "percore_bus_messages_sent_total{shard=\"0\",peer=\"1\"}");
        const double recv1 = sample(before, "percore_bus_messages_received_total{shard=\"1\",peer=\"0\"}");
        for (int i = 0; i < 5; ++i) {
            co_await submit_to(1, [] { return 0; });
        }
        const std::string after = co_await gather_prometheus_text();
        // Shard 0's snapshot is taken first, locally: since `before` it sent the request for shard 1's snapshot
        // of `before`, and the five.
        CHECK(sample(after, "percore_bus_messages_sent_total{shard=\"0\",peer=\"1\"}") == sent0 + 6);
        // Shard 1 counts a request before running it: the five, and the request for its snapshot of `after`.
        CHECK(sample(after, "percore_bus_messages_received_total{shard=\"1\",peer=\"0\"}") == recv1 + 6);
        CHECK(sample(after, "percore_bus_queue_depth_messages{shard=\"0\",peer=\"1\"}") == 0);
        CHECK(contains(after, "percore_reactor_tasks_run_total{shard=\"1\",queue=\"default\"}"));
    }
}
