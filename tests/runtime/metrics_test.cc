#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "runtime/metrics/exposition.hh"
#include "runtime/metrics/registry.hh"
#include "runtime/reactor.hh"
#include "runtime/timer.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::metrics;

namespace {

std::string text_of(const registry& r, unsigned shard = 0) {
    shard_snapshot s = r.snapshot(shard);
    return to_prometheus_text({&s, 1});
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::size_t occurrences(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

} // namespace

TEST_SUITE("runtime/metrics") {
    TEST_CASE("a registered counter is read at snapshot time with HELP and TYPE") {
        registry r;
        counter c;
        auto reg = r.add("app_requests_total", "Requests served", {{"route", "/"}}, c);
        c += 41;
        ++c;
        CHECK(text_of(r, 3) == "# HELP app_requests_total Requests served\n"
                               "# TYPE app_requests_total counter\n"
                               "app_requests_total{shard=\"3\",route=\"/\"} 42\n");
    }

    TEST_CASE("a destroyed registration removes its series") {
        registry r;
        gauge g;
        {
            auto reg = r.add("app_level", "Level", {}, g);
            CHECK(contains(text_of(r), "app_level{shard=\"0\"} 0"));
        }
        CHECK(text_of(r).empty());
    }

    TEST_CASE("a registration that outlives its registry does nothing when destroyed") {
        counter c;
        registration reg;
        {
            registry r;
            reg = r.add("app_x_total", "x", {}, c);
        }
        reg.reset(); // must not touch the freed registry (ASan would tell)
    }

    TEST_CASE("gauges print fractions, integers and special values in the format's spelling") {
        CHECK(format_sample_value(0.5) == "0.5");
        CHECK(format_sample_value(-3) == "-3");
        CHECK(format_sample_value(1e20) == "1e+20");
        CHECK(format_sample_value(std::numeric_limits<double>::infinity()) == "+Inf");
        CHECK(format_sample_value(-std::numeric_limits<double>::infinity()) == "-Inf");
        CHECK(format_sample_value(std::nan("")) == "NaN");
    }

    TEST_CASE("label values and help text are escaped") {
        registry r;
        gauge g;
        auto reg = r.add("app_g", "line one\nback\\slash \"quoted\"", {{"path", "a\\b\"c\nd"}}, g);
        const std::string t = text_of(r);
        CHECK(contains(t, "# HELP app_g line one\\nback\\\\slash \"quoted\"\n"));
        CHECK(contains(t, "app_g{shard=\"0\",path=\"a\\\\b\\\"c\\nd\"} 0\n"));
    }

    TEST_CASE("bad names, reserved labels and type clashes are refused at registration") {
        registry r;
        counter c;
        gauge g;
        CHECK_THROWS_AS((void)r.add("0bad", "x", {}, c), std::invalid_argument);
        CHECK_THROWS_AS((void)r.add("bad-name", "x", {}, c), std::invalid_argument);
        CHECK_THROWS_AS((void)r.add("ok_total", "x", {{"shard", "1"}}, c), std::invalid_argument);
        CHECK_THROWS_AS((void)r.add("ok_total", "x", {{"__x", "1"}}, c), std::invalid_argument);
        CHECK_THROWS_AS((void)r.add("ok_total", "x", {{"a", "1"}, {"a", "2"}}, c), std::invalid_argument);
        auto ok = r.add("ok_total", "x", {{"a", "1"}}, c);
        CHECK_THROWS_AS((void)r.add("ok_total", "x", {{"a", "2"}}, g), std::invalid_argument);
        CHECK_THROWS_AS((void)r.add_callback("h", "x", metric_type::histogram, {}, [] { return 0.0; }),
                        std::invalid_argument);
    }

    TEST_CASE("histogram buckets are cumulative and end with +Inf, then _sum and _count") {
        registry r;
        histogram h({0.01, 0.1, 1});
        auto reg = r.add("app_latency_seconds", "Latency", {{"op", "get"}}, h);
        h.observe(0.005);
        h.observe(0.01); // on the bound: counted in le="0.01"
        h.observe(0.5);
        h.observe(7);
        CHECK(text_of(r) == "# HELP app_latency_seconds Latency\n"
                            "# TYPE app_latency_seconds histogram\n"
                            "app_latency_seconds_bucket{shard=\"0\",op=\"get\",le=\"0.01\"} 2\n"
                            "app_latency_seconds_bucket{shard=\"0\",op=\"get\",le=\"0.1\"} 2\n"
                            "app_latency_seconds_bucket{shard=\"0\",op=\"get\",le=\"1\"} 3\n"
                            "app_latency_seconds_bucket{shard=\"0\",op=\"get\",le=\"+Inf\"} 4\n"
                            "app_latency_seconds_sum{shard=\"0\",op=\"get\"} 7.515\n"
                            "app_latency_seconds_count{shard=\"0\",op=\"get\"} 4\n");
    }

    TEST_CASE("histogram bounds must be finite and increasing") {
        CHECK_THROWS_AS(histogram({1, 1}), std::invalid_argument);
        CHECK_THROWS_AS(histogram({2, 1}), std::invalid_argument);
        CHECK_THROWS_AS(histogram({std::numeric_limits<double>::infinity()}), std::invalid_argument);
        CHECK(histogram::exponential_bounds(1, 2, 4) == std::vector<double>{1, 2, 4, 8});
        histogram none({});
        none.observe(3);
        CHECK(none.bucket_counts().size() == 1);
    }

    TEST_CASE("callbacks and collectors read existing state when the snapshot is taken") {
        registry r;
        int queue_size = 1;
        auto a = r.add_callback("app_queue_items", "Items", metric_type::gauge, {}, [&] { return double(queue_size); });
        auto b = r.add_collector([&](sample_sink& out) {
            for (int i = 0; i < 2; ++i) {
                out.counter("app_peer_msgs_total", "Messages", {{"peer", std::to_string(i)}}, i * 10 + queue_size);
            }
        });
        queue_size = 5;
        const std::string t = text_of(r);
        CHECK(contains(t, "app_queue_items{shard=\"0\"} 5\n"));
        CHECK(contains(t, "app_peer_msgs_total{shard=\"0\",peer=\"0\"} 5\n"));
        CHECK(contains(t, "app_peer_msgs_total{shard=\"0\",peer=\"1\"} 15\n"));
        CHECK(occurrences(t, "# TYPE app_peer_msgs_total counter") == 1);
    }

    TEST_CASE("a collector's bad series is skipped, the rest of the scrape stands") {
        registry r;
        auto b = r.add_collector([](sample_sink& out) {
            out.gauge("bad name", "x", {}, 1);
            out.gauge("good_one", "x", {{"shard", "9"}}, 1);
            out.gauge("good_two", "x", {}, 2);
            out.counter("good_two", "x", {{"a", "b"}}, 3); // another type under the same name
        });
        const std::string t = text_of(r);
        CHECK(t == "# HELP good_two x\n# TYPE good_two gauge\ngood_two{shard=\"0\"} 2\n");
    }

    TEST_CASE("a collector that unregisters itself or registers more does not derail the snapshot") {
        registry r;
        gauge late_value;
        registration self;
        registration late;
        auto before = r.add_callback("app_before", "x", metric_type::gauge, {}, [] { return 1.0; });
        self = r.add_collector([&](sample_sink& out) {
            out.gauge("app_self", "x", {}, 2);
            self.reset(); // gone after this snapshot
            late = r.add("app_late", "x", {}, late_value);
        });
        auto after = r.add_callback("app_after", "x", metric_type::gauge, {}, [] { return 3.0; });
        const std::string first = text_of(r);
        CHECK(contains(first, "app_before{shard=\"0\"} 1\n"));
        CHECK(contains(first, "app_self{shard=\"0\"} 2\n"));
        CHECK(contains(first, "app_after{shard=\"0\"} 3\n"));
        const std::string second = text_of(r);
        CHECK_FALSE(contains(second, "app_self"));
        CHECK(contains(second, "app_late{shard=\"0\"} 0\n"));
        CHECK(contains(second, "app_after{shard=\"0\"} 3\n"));
    }

    TEST_CASE("repeated label sets are written once, however many series a family has") {
        registry r;
        auto c = r.add_collector([](sample_sink& out) {
            for (int round = 0; round < 2; ++round) {
                for (int i = 0; i < 300; ++i) {
                    out.counter("app_cmd_total", "x", {{"cmd", "c" + std::to_string(i)}}, i + round * 1000);
                }
            }
        });
        const std::string t = text_of(r);
        CHECK(occurrences(t, "app_cmd_total{") == 300);
        CHECK(contains(t, "app_cmd_total{shard=\"0\",cmd=\"c299\"} 299\n"));
    }

    TEST_CASE("families merge across shards: HELP and TYPE once, a shard label per series, duplicates dropped") {
        registry r0;
        registry r1;
        counter c0;
        counter c1;
        c1 += 7;
        auto a = r0.add("app_hits_total", "Hits", {}, c0);
        auto b = r1.add("app_hits_total", "Hits", {}, c1);
        auto dup = r1.add_collector([](sample_sink& out) { out.counter("app_hits_total", "Hits", {}, 99); });
        auto only1 = r1.add_callback("app_only_one", "x", metric_type::gauge, {}, [] { return 1.0; });
        std::vector<shard_snapshot> shards{r0.snapshot(0), r1.snapshot(1)};
        CHECK(to_prometheus_text(shards) == "# HELP app_hits_total Hits\n"
                                            "# TYPE app_hits_total counter\n"
                                            "app_hits_total{shard=\"0\"} 0\n"
                                            "app_hits_total{shard=\"1\"} 7\n"
                                            "# HELP app_only_one x\n"
                                            "# TYPE app_only_one gauge\n"
                                            "app_only_one{shard=\"1\"} 1\n");
    }

    RUNTIME_TEST_CASE("the reactor registers its own metrics: tasks per queue, io_uring, timers, busy time") {
        timer t([] {});
        t.arm(std::chrono::seconds(60));
        co_await sleep_for(std::chrono::milliseconds(1));
        const std::string s = text_of(local_registry());
        CHECK(contains(s, "# TYPE percore_reactor_tasks_run_total counter\n"));
        CHECK(contains(s, "percore_reactor_tasks_run_total{shard=\"0\",queue=\"default\"} "));
        CHECK(contains(s, "percore_reactor_run_queue_length{shard=\"0\",queue=\"default\"} 0\n"));
        CHECK(contains(s, "percore_timers_armed{shard=\"0\"} 1\n"));
        CHECK(contains(s, "percore_reactor_busy_seconds_total{shard=\"0\"} "));
        CHECK(contains(s, "percore_uring_enter_calls_total{shard=\"0\"} "));
        CHECK(contains(s, "percore_stall_reports_total{shard=\"0\"} 0\n"));
        const reactor_stats st = this_reactor().stats();
        CHECK(st.io_submitted > 0);  // the sleep's timer wake-up went through the ring
        CHECK(st.idle <= st.uptime); // busy = uptime - idle never goes negative
        CHECK(st.timers_fired >= 1);
    }
}
