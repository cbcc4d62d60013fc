#include "shard/config.hh"

#include <charconv>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <toml++/toml.h>

namespace percore {

namespace {

std::string where(std::string_view source, const toml::node& n) {
    const auto& s = n.source();
    return fmt::format("{}:{}", source, s.begin.line);
}

[[noreturn]] void fail(std::string_view source, const toml::node& n, const std::string& key, const std::string& why) {
    throw config_error(fmt::format("{}: '{}' {}", where(source, n), key, why));
}

long long get_integer(std::string_view source, const toml::node& n, const std::string& key, long long min,
                      long long max) {
    const auto* v = n.as_integer();
    if (v == nullptr) {
        fail(source, n, key, "must be an integer");
    }
    const long long x = v->get();
    if (x < min || x > max) {
        fail(source, n, key, fmt::format("must be in {}..{}, got {}", min, max, x));
    }
    return x;
}

bool get_bool(std::string_view source, const toml::node& n, const std::string& key) {
    const auto* v = n.as_boolean();
    if (v == nullptr) {
        fail(source, n, key, "must be true or false");
    }
    return v->get();
}

std::string get_string(std::string_view source, const toml::node& n, const std::string& key) {
    const auto* v = n.as_string();
    if (v == nullptr) {
        fail(source, n, key, "must be a string");
    }
    return v->get();
}

placement_mode parse_placement(std::string_view text) {
    if (text == "core") {
        return placement_mode::core;
    }
    if (text == "thread") {
        return placement_mode::thread;
    }
    throw config_error("placement must be 'core' or 'thread', got '" + std::string(text) + "'");
}

uring_mode parse_ring_mode(std::string_view text) {
    for (auto m : {uring_mode::automatic, uring_mode::defer_taskrun, uring_mode::coop_taskrun, uring_mode::plain}) {
        if (text == to_string(m)) {
            return m;
        }
    }
    throw config_error("ring_mode must be automatic, defer_taskrun, coop_taskrun or plain, got '" + std::string(text) +
                       "'");
}

log_levels parse_levels(std::string_view text, const std::optional<log_levels>& base) {
    try {
        return parse_log_levels(text, base.value_or(log_levels{}));
    } catch (const std::invalid_argument& e) {
        throw config_error(e.what());
    }
}

log_format parse_format(std::string_view text) {
    if (auto f = parse_log_format(text)) {
        return *f;
    }
    throw config_error("log format must be text or json, got '" + std::string(text) + "'");
}

/// Runs `fn` and re-throws a config_error with the node's position prepended.
template <typename Fn>
auto at(std::string_view source, const toml::node& n, const std::string& key, Fn&& fn) {
    try {
        return fn();
    } catch (const config_error& e) {
        fail(source, n, key, std::string("is invalid: ") + e.what());
    }
}

void apply_shards(std::string_view src, const toml::table& t, engine_config& c) {
    for (const auto& entry_k : t) {
        const auto& k = entry_k.first; // named, not bound: clang 14 cannot capture bindings
        const auto& v = entry_k.second;
        const std::string key = "shards." + std::string(k.str());
        if (k == "count") {
            if (v.is_integer()) {
                c.placement.shards = static_cast<unsigned>(get_integer(src, v, key, 1, 65536));
            } else {
                c.placement.shards = at(src, v, key, [&] { return parse_shard_count(get_string(src, v, key)); });
            }
        } else if (k == "cpuset") {
            c.placement.cpus = at(src, v, key, [&] { return cpuset::parse(get_string(src, v, key)); });
        } else if (k == "placement") {
            c.placement.mode = at(src, v, key, [&] { return parse_placement(get_string(src, v, key)); });
        } else if (k == "overprovision") {
            c.placement.overprovision = get_bool(src, v, key);
        } else if (k == "numa_bind") {
            c.numa_bind = get_bool(src, v, key);
        } else {
            fail(src, v, key, "is not a known key (count, cpuset, placement, overprovision, numa_bind)");
        }
    }
}

void apply_reactor(std::string_view src, const toml::table& t, engine_config& c) {
    using namespace std::chrono;
    for (const auto& entry_k : t) {
        const auto& k = entry_k.first; // named, not bound: clang 14 cannot capture bindings
        const auto& v = entry_k.second;
        const std::string key = "reactor." + std::string(k.str());
        if (k == "task_quota_us") {
            c.reactor.task_quota = microseconds(get_integer(src, v, key, 10, 1'000'000));
        } else if (k == "idle_poll_us") {
            c.reactor.idle_poll = microseconds(get_integer(src, v, key, 0, 1'000'000));
        } else if (k == "reply_poll_us") {
            c.reactor.reply_poll = microseconds(get_integer(src, v, key, 0, 1'000'000));
        } else if (k == "stall_threshold_ms") {
            c.reactor.stall_threshold = milliseconds(get_integer(src, v, key, 0, 3'600'000));
        } else if (k == "ring_entries") {
            c.reactor.ring_entries = static_cast<unsigned>(get_integer(src, v, key, 8, 32768));
        } else if (k == "ring_mode") {
            c.reactor.ring_mode = at(src, v, key, [&] { return parse_ring_mode(get_string(src, v, key)); });
        } else {
            fail(src, v, key,
                 "is not a known key (task_quota_us, idle_poll_us, reply_poll_us, stall_threshold_ms, ring_entries, "
                 "ring_mode)");
        }
    }
}

void apply_task_queues(std::string_view src, const toml::table& t, engine_config& c) {
    for (const auto& entry_name : t) {
        const auto& name = entry_name.first; // named, not bound: clang 14 cannot capture bindings
        const auto& v = entry_name.second;
        const std::string base = "task_queues." + std::string(name.str());
        const auto* q = v.as_table();
        if (q == nullptr) {
            fail(src, v, base, "must be a table with 'shares' and 'latency_sensitive'");
        }
        task_queue_config cfg{.name = std::string(name.str())};
        for (const auto& entry_k : *q) {
            const auto& k = entry_k.first; // named, not bound: clang 14 cannot capture bindings
            const auto& x = entry_k.second;
            const std::string key = base + "." + std::string(k.str());
            if (k == "shares") {
                cfg.shares = static_cast<unsigned>(get_integer(src, x, key, 1, 1'000'000));
            } else if (k == "latency_sensitive") {
                cfg.latency_sensitive = get_bool(src, x, key);
            } else {
                fail(src, x, key, "is not a known key (shares, latency_sensitive)");
            }
        }
        std::erase_if(c.task_queues, [&](const auto& existing) { return existing.name == cfg.name; });
        c.task_queues.push_back(std::move(cfg));
    }
}

} // namespace

std::optional<unsigned> parse_shard_count(std::string_view text) {
    if (text == "auto") {
        return std::nullopt;
    }
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || n == 0 || n > 65536) {
        throw config_error("shard count must be 'auto' or a number from 1 to 65536, got '" + std::string(text) + "'");
    }
    return n;
}

task_queue_config parse_task_queue_flag(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        throw config_error("task queue must be NAME=SHARES or NAME=SHARES:latency, got '" + std::string(text) + "'");
    }
    task_queue_config cfg{.name = std::string(text.substr(0, eq))};
    std::string_view rest = text.substr(eq + 1);
    if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
        if (rest.substr(colon + 1) != "latency") {
            throw config_error("task queue '" + cfg.name + "': only ':latency' may follow the shares, got '" +
                               std::string(rest.substr(colon + 1)) + "'");
        }
        cfg.latency_sensitive = true;
        rest = rest.substr(0, colon);
    }
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), cfg.shares);
    if (rest.empty() || ec != std::errc() || ptr != rest.data() + rest.size() || cfg.shares == 0 ||
        cfg.shares > 1'000'000) {
        throw config_error("task queue '" + cfg.name + "': shares must be a number from 1 to 1000000, got '" +
                           std::string(rest) + "'");
    }
    return cfg;
}

engine_config parse_engine_config(std::string_view toml_text, std::string_view source_name, engine_config c) {
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        throw config_error(fmt::format("{}:{}:{}: malformed TOML: {}", source_name, e.source().begin.line,
                                       e.source().begin.column, e.description()));
    }
    for (const auto& entry_k : root) {
        const auto& k = entry_k.first; // named, not bound: clang 14 cannot capture bindings
        const auto& v = entry_k.second;
        const std::string key(k.str());
        if (key == "bus" || key == "blocking" || key == "log" || key == "metrics") {
            const auto* t = v.as_table();
            if (t == nullptr) {
                fail(source_name, v, key, "must be a table");
            }
            for (const auto& entry_sk : *t) {
                const auto& sk = entry_sk.first; // named, not bound: clang 14 cannot capture bindings
                const auto& sv = entry_sk.second;
                const std::string full = key + "." + std::string(sk.str());
                if (key == "bus" && sk == "max_in_flight") {
                    c.bus_max_in_flight = static_cast<unsigned>(get_integer(source_name, sv, full, 1, 1'000'000));
                } else if (key == "blocking" && sk == "threads") {
                    c.blocking_threads = static_cast<unsigned>(get_integer(source_name, sv, full, 1, 1024));
                } else if (key == "log" && sk == "level") {
                    c.log = at(source_name, sv, full,
                               [&] { return parse_levels(get_string(source_name, sv, full), c.log); });
                } else if (key == "log" && sk == "format") {
                    c.log_format =
                        at(source_name, sv, full, [&] { return parse_format(get_string(source_name, sv, full)); });
                } else if (key == "metrics" && sk == "address") {
                    c.metrics_address = get_string(source_name, sv, full);
                } else if (key == "metrics" && sk == "port") {
                    c.metrics_port = static_cast<std::uint16_t>(get_integer(source_name, sv, full, 0, 65535));
                } else {
                    fail(source_name, sv, full, "is not a known key");
                }
            }
            continue;
        }
        const auto* t = v.as_table();
        if (t == nullptr) {
            fail(source_name, v, key,
                 "is not a known key (sections: shards, reactor, task_queues, bus, blocking, log, metrics)");
        }
        if (key == "shards") {
            apply_shards(source_name, *t, c);
        } else if (key == "reactor") {
            apply_reactor(source_name, *t, c);
        } else if (key == "task_queues") {
            apply_task_queues(source_name, *t, c);
        } else {
            fail(source_name, v, key,
                 "is not a known section (shards, reactor, task_queues, bus, blocking, log, metrics)");
        }
    }
    return c;
}

engine_config load_engine_config(const std::string& path, engine_config base) {
    std::ifstream in(path);
    if (!in) {
        throw config_error("cannot read config file '" + path + "': " + std::strerror(errno));
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse_engine_config(text.str(), path, std::move(base));
}

engine_options::engine_options(CLI::App& app) {
    app.add_option("--config", _config_file, "TOML file with engine settings (flags override it)");
    app.add_option("--shards,--smp", _shards, "number of shards, or 'auto' (one per physical core)");
    app.add_option("--cpuset", _cpuset, "CPUs to run shards on, e.g. 0-3,6");
    app.add_option("--placement", _placement, "one shard per 'core' (default) or per hardware 'thread'");
    app.add_flag("--overprovision", _overprovision, "allow more shards than CPUs");
    app.add_flag("--numa-bind,!--no-numa-bind", _numa_bind, "bind each shard's memory to its NUMA node")
        ->each([this](const std::string&) { _numa_bind_given = true; });
    app.add_option("--task-quota-us", _task_quota_us, "scheduler time slice in microseconds (default 500)");
    app.add_option("--idle-poll-us", _idle_poll_us, "how long an idle shard polls before sleeping (default 20)");
    app.add_option("--reply-poll-us", _reply_poll_us, "the same while it awaits cross-shard replies (default 200)");
    app.add_option("--stall-threshold-ms", _stall_threshold_ms, "report tasks holding a shard longer (0: off)");
    app.add_option("--ring-entries", _ring_entries, "io_uring submission queue size per shard (default 256)");
    app.add_option("--bus-max-in-flight", _bus_max_in_flight, "cross-shard messages in flight per pair (256)");
    app.add_option("--blocking-threads", _blocking_threads, "threads for spawn_blocking (default 4)");
    app.add_option("--task-queue", _task_queues, "extra task queue NAME=SHARES[:latency] (repeatable)");
    app.add_option("--log-level", _log_level,
                   "LEVEL[,COMPONENT=LEVEL...]: error, warn, info, debug or trace, e.g. info,net=debug,kv=warn");
    app.add_option("--log-format", _log_format, "log lines as 'text' (default) or 'json'");
    app.add_option("--metrics-address", _metrics_address, "address of the /metrics endpoint (default 127.0.0.1)");
    app.add_option("--metrics-port", _metrics_port, "serve /metrics and /healthz on this port (default 0: off)");
    app.add_flag("--print-topology", _print_topology, "print the machine and the shard plan, then exit");
}

engine_config engine_options::resolve() const {
    using namespace std::chrono;
    engine_config c = _config_file.empty() ? engine_config{} : load_engine_config(_config_file);
    auto range = [](long v, long min, long max, const char* flag) {
        if (v < min || v > max) {
            throw config_error(fmt::format("{} must be in {}..{}, got {}", flag, min, max, v));
        }
        return v;
    };
    if (!_shards.empty()) {
        c.placement.shards = parse_shard_count(_shards);
    }
    if (!_cpuset.empty()) {
        c.placement.cpus = cpuset::parse(_cpuset);
    }
    if (!_placement.empty()) {
        c.placement.mode = parse_placement(_placement);
    }
    if (_overprovision) {
        c.placement.overprovision = true;
    }
    if (_numa_bind_given) {
        c.numa_bind = _numa_bind;
    }
    if (_task_quota_us >= 0) {
        c.reactor.task_quota = microseconds(range(_task_quota_us, 10, 1'000'000, "--task-quota-us"));
    }
    if (_idle_poll_us >= 0) {
        c.reactor.idle_poll = microseconds(range(_idle_poll_us, 0, 1'000'000, "--idle-poll-us"));
    }
    if (_reply_poll_us >= 0) {
        c.reactor.reply_poll = microseconds(range(_reply_poll_us, 0, 1'000'000, "--reply-poll-us"));
    }
    if (_stall_threshold_ms >= 0) {
        c.reactor.stall_threshold = milliseconds(range(_stall_threshold_ms, 0, 3'600'000, "--stall-threshold-ms"));
    }
    if (_ring_entries >= 0) {
        c.reactor.ring_entries = static_cast<unsigned>(range(_ring_entries, 8, 32768, "--ring-entries"));
    }
    if (_bus_max_in_flight >= 0) {
        c.bus_max_in_flight = static_cast<unsigned>(range(_bus_max_in_flight, 1, 1'000'000, "--bus-max-in-flight"));
    }
    if (_blocking_threads >= 0) {
        c.blocking_threads = static_cast<unsigned>(range(_blocking_threads, 1, 1024, "--blocking-threads"));
    }
    for (const auto& q : _task_queues) {
        auto cfg = parse_task_queue_flag(q);
        std::erase_if(c.task_queues, [&](const auto& existing) { return existing.name == cfg.name; });
        c.task_queues.push_back(std::move(cfg));
    }
    if (!_log_level.empty()) {
        c.log = parse_levels(_log_level, c.log);
    }
    if (!_log_format.empty()) {
        c.log_format = parse_format(_log_format);
    }
    if (!_metrics_address.empty()) {
        c.metrics_address = _metrics_address;
    }
    if (_metrics_port >= 0) {
        c.metrics_port = static_cast<std::uint16_t>(range(_metrics_port, 0, 65535, "--metrics-port"));
    }
    return c;
}

} // namespace percore
