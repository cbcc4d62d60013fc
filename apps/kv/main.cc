// percore-kv: a sharded key-value server that speaks the Redis protocol (RESP2 and RESP3).
//
//   percore-kv [--address 127.0.0.1] [--port 6379] [--requirepass PASS] [--maxclients 10000]
//              [--maxmemory 0] [--maxmemory-policy noeviction|allkeys-lru] [--dir .] [--appendonly no|yes]
//              [--appendfsync everysec|always|no] [--repair-log] [engine flags: --shards, --cpuset, ...]
//
// Keys are spread over the shards by Redis hash slot (CRC16 of the key or its {hash tag}); a connection's
// commands for other shards travel over the bus. SIGTERM or SIGINT: stop accepting, let connections finish their
// commands (--drain-timeout-ms), sync every shard's log, exit 0.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include "apps/kv/global_commands.hh"
#include "apps/kv/persistence/data_dir.hh"
#include "apps/kv/persistence/recovery.hh"
#include "apps/kv/session.hh"
#include "apps/kv/settings.hh"
#include "apps/kv/shard_state.hh"
#include "net/metrics_endpoint.hh"
#include "net/server.hh"
#include "runtime/run.hh"
#include "runtime/sync/event.hh"
#include "shard/app.hh"
#include "shard/shard_id.hh"
#include "shard/sharded.hh"

namespace {

struct kv_options {
    percore::kv::settings s;
    std::string maxmemory = "0";
    std::string policy = "noeviction";
    std::string max_bulk = "512mb";
    std::string query_buffer_limit = "1gb";
    std::string log_rewrite_min_size = "64mb";
    std::string snapshot_buffer = "4mb";
    unsigned drain_timeout_ms = 5000;
    std::string accept_mode = "reuseport";
    std::string appendonly = "no";
    std::string appendfsync = "everysec";
};

percore::task<int> run_kv(kv_options o) {
    using namespace percore;
    std::error_code ec;
    std::filesystem::create_directories(o.s.dir, ec);
    if (ec) {
        std::fprintf(stderr, "percore-kv: cannot create the data directory %s: %s\n", o.s.dir.c_str(),
                     ec.message().c_str());
        co_return 1;
    }
    if (o.s.appendonly) {
        std::string why;
        if (!kv::hold_data_dir(o.s.dir, why)) {
            std::fprintf(stderr, "percore-kv: %s\n", why.c_str());
            co_return 1;
        }
        if (std::string bad = kv::check_layout(o.s.dir, shard_count()); !bad.empty()) {
            std::fprintf(stderr, "percore-kv: refusing to start: %s\n", bad.c_str());
            co_return 1;
        }
    }
    sharded<kv::shard_state> shards;
    co_await shards.start(o.s);
    if (o.s.appendonly) {
        const int code = co_await kv::recover_shards(shards, o.s);
        if (code != 0) {
            co_await shards.stop();
            co_return code;
        }
    }
    co_await shards.invoke_on_all([](kv::shard_state& st) { st.start(); });

    net::server_options so;
    so.address = net::socket_address::from_host_port(o.s.address, o.s.port);
    so.mode = net::parse_accept_mode(o.accept_mode);
    so.drain_timeout = std::chrono::milliseconds(o.drain_timeout_ms);
    so.name = "kv";
    // maxclients is enforced by the sessions (they answer "max number of clients reached", as Redis does).
    sharded<kv::shard_state>* sp = &shards;
    net::server srv(so, [sp] {
        return [sp](net::connection c) -> task<> {
            kv::session s(std::move(c), *sp);
            co_await s.run();
        };
    });
    event stop;
    handle_signal(SIGTERM, [&stop] { stop.set(); });
    handle_signal(SIGINT, [&stop] { stop.set(); });
    co_await srv.start();
    const std::string where = srv.local_address().to_string();
    std::fprintf(stderr, "percore-kv: listening on %s (%u shards); connect with: redis-cli -h %s -p %u\n",
                 where.c_str(), shard_count(), o.s.address.c_str(), static_cast<unsigned>(srv.local_address().port()));
    co_await stop.wait();
    std::fprintf(stderr, "percore-kv: stopping: no new connections, finishing the open ones\n");
    co_await srv.stop();
    co_await shards.stop(); // every shard's log: what is pending written and synced, then closed
    std::fprintf(stderr, "percore-kv: stopped\n");
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    percore::app app("percore-kv", "A sharded key-value server speaking the Redis protocol");
    percore::net::serve_metrics(app); // --metrics-port: percore_kv_* and the runtime's metrics
    kv_options o;
    auto& cli = app.cli();
    cli.add_option("--address", o.s.address, "IP address to listen on (loopback by default)")->capture_default_str();
    cli.add_option("--port", o.s.port, "TCP port (0: any free port)")->capture_default_str();
    cli.add_option("--requirepass", o.s.requirepass, "password clients must AUTH with (empty: none)");
    cli.add_option("--maxclients", o.s.maxclients,
                   "connections open at once over all shards (each shard admits an equal share)")
        ->capture_default_str();
    cli.add_option("--maxmemory", o.maxmemory, "memory for data over all shards, e.g. 100mb (0: no limit)")
        ->capture_default_str();
    cli.add_option("--maxmemory-policy", o.policy, "noeviction (writes fail with -OOM) or allkeys-lru")
        ->check(CLI::IsMember({"noeviction", "allkeys-lru"}))
        ->capture_default_str();
    cli.add_option("--maxmemory-samples", o.s.maxmemory_samples, "keys sampled per eviction")->capture_default_str();
    cli.add_option("--timeout", o.s.timeout_s, "close clients idle this many seconds (0: never)")
        ->capture_default_str();
    cli.add_option("--proto-max-bulk-len", o.max_bulk, "largest argument a client may send")->capture_default_str();
    cli.add_option("--client-query-buffer-limit", o.query_buffer_limit,
                   "bytes buffered for one incomplete request before the connection is closed")
        ->capture_default_str();
    cli.add_option("--hz", o.s.hz, "active expiry cycles per second")->capture_default_str();
    cli.add_option("--dir", o.s.dir, "data directory (created if missing): a lock file and each shard's log")
        ->capture_default_str();
    cli.add_option("--appendonly", o.appendonly, "yes: every shard logs its writes and replays its log at start")
        ->check(CLI::IsMember({"yes", "no"}))
        ->capture_default_str();
    cli.add_option("--appendfsync", o.appendfsync,
                   "always: a write is acknowledged once on disk (group commit); everysec: an fdatasync a second; "
                   "no: the kernel decides")
        ->check(CLI::IsMember({"always", "everysec", "no"}))
        ->capture_default_str();
    cli.add_flag("--repair-log", o.s.repair_log,
                 "start even if a log is damaged before its tail: keep its valid prefix, drop the rest");
    cli.add_option("--log-rewrite-min-size", o.log_rewrite_min_size,
                   "a shard's log is rewritten as a snapshot once past this size... (CONFIG auto-aof-rewrite-min-size)")
        ->capture_default_str();
    cli.add_option("--log-rewrite-percentage", o.s.log_rewrite_percentage,
                   "...and grown this many percent over its size after the last rewrite (0: never automatically)")
        ->capture_default_str();
    cli.add_option("--snapshot-buffer", o.snapshot_buffer,
                   "bytes of snapshot records a shard may hold unwritten; past it, its writes wait for the disk")
        ->capture_default_str();
    cli.add_option("--drain-timeout-ms", o.drain_timeout_ms,
                   "on SIGTERM, how long open connections may finish before they are cut")
        ->capture_default_str();
    cli.add_option("--accept-mode", o.accept_mode,
                   "reuseport: every shard accepts; handoff: shard 0 accepts and hands connections out")
        ->check(CLI::IsMember({"reuseport", "handoff"}))
        ->capture_default_str();
    return app.run(argc, argv, [&]() -> percore::task<int> {
        std::uint64_t bytes = 0;
        if (!percore::kv::parse_memory(o.maxmemory, bytes)) {
            std::fprintf(stderr, "percore-kv: --maxmemory %s: not a memory value (e.g. 100mb, 2gb)\n",
                         o.maxmemory.c_str());
            co_return 2;
        }
        o.s.maxmemory = bytes;
        o.s.policy = o.policy == "allkeys-lru" ? percore::kv::eviction_policy::allkeys_lru
                                               : percore::kv::eviction_policy::noeviction;
        if (!percore::kv::parse_memory(o.max_bulk, bytes) || bytes == 0 ||
            bytes > percore::kv::object::max_string_size) {
            std::fprintf(stderr, "percore-kv: --proto-max-bulk-len %s: not a memory value from 1 to 4294967295\n",
                         o.max_bulk.c_str());
            co_return 2;
        }
        o.s.limits.max_bulk = bytes;
        if (!percore::kv::parse_memory(o.query_buffer_limit, bytes) || bytes == 0) {
            std::fprintf(stderr, "percore-kv: --client-query-buffer-limit %s: not a memory value\n",
                         o.query_buffer_limit.c_str());
            co_return 2;
        }
        o.s.limits.max_query_buffer = bytes;
        o.s.appendonly = o.appendonly == "yes";
        (void)percore::kv::parse_durability(o.appendfsync, o.s.appendfsync);
        if (!percore::kv::parse_memory(o.log_rewrite_min_size, bytes)) {
            std::fprintf(stderr, "percore-kv: --log-rewrite-min-size %s: not a memory value\n",
                         o.log_rewrite_min_size.c_str());
            co_return 2;
        }
        o.s.log_rewrite_min_size = bytes;
        if (!percore::kv::parse_memory(o.snapshot_buffer, bytes) || bytes == 0) {
            std::fprintf(stderr, "percore-kv: --snapshot-buffer %s: not a memory value\n", o.snapshot_buffer.c_str());
            co_return 2;
        }
        o.s.snapshot_buffer = bytes;
        co_return co_await run_kv(o);
    });
}
