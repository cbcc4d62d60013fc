#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <doctest/doctest.h>

#include "shard/config.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

std::string parse_error(const std::string& toml) {
    try {
        (void)parse_engine_config(toml, "test.toml");
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

/// Parses argv the way an app does and resolves the engine config.
engine_config from_flags(std::vector<std::string> args) {
    CLI::App app("test");
    engine_options options(app);
    args.insert(args.begin(), "prog");
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    app.parse(static_cast<int>(argv.size()), argv.data());
    return options.resolve();
}

} // namespace

TEST_SUITE("shard/config") {
    TEST_CASE("a full TOML file sets every knob") {
        const engine_config c = parse_engine_config(R"(
[shards]
count = 3
cpuset = "0-1"
placement = "thread"
overprovision = true
numa_bind = false

[reactor]
task_quota_us = 250
idle_poll_us = 0
stall_threshold_ms = 0
ring_entries = 512
ring_mode = "plain"

[task_queues.background]
shares = 200
[task_queues.ui]
shares = 500
latency_sensitive = true

[bus]
max_in_flight = 64
[blocking]
threads = 2
[log]
level = "debug"
)",
                                                    "test.toml");
        CHECK(c.placement.shards == 3u);
        CHECK(c.placement.cpus->to_string() == "0-1");
        CHECK(c.placement.mode == placement_mode::thread);
        CHECK(c.placement.overprovision);
        CHECK_FALSE(c.numa_bind);
        CHECK(c.reactor.task_quota == 250us);
        CHECK(c.reactor.idle_poll == 0us);
        CHECK(c.reactor.stall_threshold == 0ms);
        CHECK(c.reactor.ring_entries == 512);
        CHECK(c.reactor.ring_mode == uring_mode::plain);
        REQUIRE(c.task_queues.size() == 2);
        CHECK(c.task_queues[1].name == "ui");
        CHECK(c.task_queues[1].latency_sensitive);
        CHECK(c.bus_max_in_flight == 64);
        CHECK(c.blocking_threads == 2);
        REQUIRE(c.log.has_value());
        CHECK(c.log->level == log_level::debug);
        CHECK_FALSE(parse_engine_config("[shards]\ncount = \"auto\"\n", "x").placement.shards.has_value());
    }

    TEST_CASE("bad files are refused with the source, the line and the key") {
        CHECK(parse_error("[shards]\ncount = = 3\n").find("test.toml:2") != std::string::npos);
        CHECK(parse_error("[shards]\ncount = = 3\n").find("malformed TOML") != std::string::npos);
        const std::string unknown = parse_error("[shards]\ncpu_set = \"0\"\n");
        CHECK(unknown.find("test.toml:2") != std::string::npos);
        CHECK(unknown.find("'shards.cpu_set' is not a known key") != std::string::npos);
        CHECK(parse_error("[shard]\ncount = 1\n").find("'shard' is not a known section") != std::string::npos);
        CHECK(parse_error("[shards]\ncount = 0\n").find("must be in 1..65536, got 0") != std::string::npos);
        CHECK(parse_error("[shards]\ncount = \"many\"\n").find("'many'") != std::string::npos);
        CHECK(parse_error("[shards]\ncpuset = \"2-1\"\n").find("range ends before it starts") != std::string::npos);
        CHECK(parse_error("[shards]\nplacement = \"socket\"\n").find("'socket'") != std::string::npos);
        CHECK(parse_error("[shards]\nnuma_bind = 1\n").find("must be true or false") != std::string::npos);
        CHECK(parse_error("[reactor]\ntask_quota_us = 1\n").find("10..1000000") != std::string::npos);
        CHECK(parse_error("[task_queues.x]\nshares = 0\n").find("task_queues.x.shares") != std::string::npos);
        CHECK(parse_error("[log]\nlevel = \"loud\"\n").find("'loud'") != std::string::npos);
        CHECK(parse_error("[log]\nformat = \"xml\"\n").find("'xml'") != std::string::npos);
        CHECK(parse_error("[metrics]\nport = 70000\n").find("metrics.port") != std::string::npos);
        CHECK_THROWS_AS(load_engine_config("/nonexistent/percore.toml"), config_error);
    }

    TEST_CASE("command-line flags override the file") {
        const std::string path = "/tmp/percore_config_test_" + std::to_string(::getpid()) + ".toml";
        {
            std::ofstream f(path);
            f << "[shards]\ncount = 4\ncpuset = \"0-3\"\nnuma_bind = false\n[reactor]\ntask_quota_us = 300\n";
        }
        const engine_config c = from_flags({"--config", path, "--shards", "2", "--numa-bind", "--task-queue", "bg=100",
                                            "--task-queue", "ui=900:latency", "--idle-poll-us", "5"});
        std::remove(path.c_str());
        CHECK(c.placement.shards == 2u);               // flag wins
        CHECK(c.placement.cpus->to_string() == "0-3"); // file value kept
        CHECK(c.numa_bind);                            // flag wins
        CHECK(c.reactor.task_quota == 300us);          // file value kept
        CHECK(c.reactor.idle_poll == 5us);
        REQUIRE(c.task_queues.size() == 2);
        CHECK(c.task_queues[0].shares == 100);
        CHECK(c.task_queues[1].latency_sensitive);
        CHECK(from_flags({"--no-numa-bind"}).numa_bind == false);
        CHECK(from_flags({"--smp", "auto"}).placement.shards == std::nullopt);
    }

    TEST_CASE("log levels per component, log format and the metrics endpoint come from the file and the flags") {
        const engine_config f = parse_engine_config(
            "[log]\nlevel = \"warn,net=debug\"\nformat = \"json\"\n[metrics]\nport = 9100\n", "test.toml");
        REQUIRE(f.log.has_value());
        CHECK(f.log->level == log_level::warn);
        REQUIRE(f.log->components.size() == 1);
        CHECK(f.log->components[0] == std::pair<std::string, log_level>{"net", log_level::debug});
        CHECK(f.log_format == log_format::json);
        CHECK(f.metrics_port == 9100);
        CHECK(f.metrics_address == "127.0.0.1");
        const engine_config c = from_flags({"--log-level", "info,net=debug,kv=warn", "--log-format", "text",
                                            "--metrics-port", "0", "--metrics-address", "127.0.0.2"});
        REQUIRE(c.log.has_value());
        CHECK(c.log->level == log_level::info);
        CHECK(c.log->components.size() == 2);
        CHECK(c.log_format == log_format::text);
        CHECK(c.metrics_port == 0);
        CHECK(c.metrics_address == "127.0.0.2");
        CHECK_FALSE(from_flags({}).log.has_value());
        CHECK(from_flags({}).metrics_port == 0); // off by default
    }

    TEST_CASE("bad flags are refused naming the value") {
        auto error_of = [](std::vector<std::string> args) -> std::string {
            try {
                (void)from_flags(std::move(args));
            } catch (const config_error& e) {
                return e.what();
            }
            return "";
        };
        CHECK(error_of({"--shards", "0"}).find("'0'") != std::string::npos);
        CHECK(error_of({"--cpuset", "a-b"}).find("'a'") != std::string::npos);
        CHECK(error_of({"--placement", "numa"}).find("'numa'") != std::string::npos);
        CHECK(error_of({"--task-quota-us", "5"}).find("--task-quota-us must be in 10..1000000, got 5") !=
              std::string::npos);
        CHECK(error_of({"--task-queue", "bg"}).find("NAME=SHARES") != std::string::npos);
        CHECK(error_of({"--task-queue", "bg=10:fast"}).find("':latency'") != std::string::npos);
        CHECK(error_of({"--log-level", "chatty"}).find("'chatty'") != std::string::npos);
        CHECK(error_of({"--log-level", "info,net=loud"}).find("'loud'") != std::string::npos);
        CHECK(error_of({"--log-format", "xml"}).find("'xml'") != std::string::npos);
        CHECK(error_of({"--metrics-port", "70000"}).find("--metrics-port must be in 0..65535") != std::string::npos);
        CHECK(error_of({"--config", "/nonexistent.toml"}).find("/nonexistent.toml") != std::string::npos);
    }
}
