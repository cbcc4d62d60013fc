// percore-load: a load generator for percore's servers: echo, and RESP for percore-kv and Redis.
//
//   percore-load echo [--address 127.0.0.1] [--port 7000] [--connections 50] [--size 64] [--depth 1]
//                     [--duration 5] [--warmup 1] [--messages N] [--rate R] [--json] [--timeout-ms 2000]
//                     [engine flags: --shards N --cpuset 1 ...]
//   percore-load resp [--port 6379] [-t set,get | -t set:1,get:9] [-r KEYS] [-d 3] [-P 16] [-c 50]
//                     [--mset-keys 10] [--hash-tag] [--auth PASS] [-n REQUESTS] ... (the same flags as echo)
//   percore-load http [--port 8080] [--path /hello] [-c 50] [-P 1] [--rate R] ... (the same flags as echo)
//
// Connections are spread over percore-load's own shards. Every reply byte is checked against what was sent.
// Progress each second on stderr; the summary (or one JSON object with --json) on stdout. Exit status: 0, 1 if
// a connection failed or any message was wrong, lost or late, 2 for bad flags.
#include <cstdio>
#include <string>

#include "apps/load/driver.hh"
#include "apps/load/protocol.hh"
#include "shard/app.hh"

int main(int argc, char** argv) {
    percore::app app("percore-load", "Load generator: drives a server over many connections, checks every reply, "
                                     "reports throughput and latency percentiles");
    percore::load::load_options o;
    auto& cli = app.cli();
    cli.add_option("mode", o.mode, "protocol to speak")
        ->required()
        ->check(CLI::IsMember(percore::load::protocol_names()));
    cli.add_option("--address", o.address, "server IP address (numeric, or localhost)")->capture_default_str();
    CLI::Option* port = cli.add_option("--port", o.port, "server TCP port (default 7000; resp: 6379)");
    cli.add_option("-c,--connections", o.connections, "connections over all shards")
        ->check(CLI::Range(1u, 1'000'000u))
        ->capture_default_str();
    CLI::Option* size = cli.add_option("-d,--size", o.size, "payload bytes per message (resp: per value; default 3)")
                            ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20));
    cli.add_option("-P,--depth", o.depth,
                   "messages in flight per connection: each verified reply lets the next message go")
        ->check(CLI::Range(1u, 65536u))
        ->capture_default_str();
    CLI::Option* duration = cli.add_option("--duration", o.duration_s,
                                           "measured seconds after the warm-up (default 5; with "
                                           "--messages: no time limit unless given)")
                                ->check(CLI::NonNegativeNumber);
    CLI::Option* warmup =
        cli.add_option("--warmup", o.warmup_s, "seconds of load before measuring (default 1; with --messages: 0)")
            ->check(CLI::NonNegativeNumber);
    cli.add_option("-n,--messages,--requests", o.messages,
                   "stop after this many measured messages over all connections");
    cli.add_option("--rate", o.rate,
                   "open loop: messages per second over all connections; latency counts from the intended send "
                   "time (default: closed loop)")
        ->check(CLI::NonNegativeNumber);
    cli.add_flag("--json", o.json, "print the summary as one JSON object");
    auto* resp = cli.add_option_group("resp", "RESP mode (percore-kv, redis-server)");
    resp->add_option("-t,--commands", o.commands,
                     "commands to cycle through, optionally weighted: set,get or set:1,get:9 (ping set get incr "
                     "mset del)")
        ->capture_default_str();
    resp->add_option("-r,--keyspace", o.keyspace,
                     "keys drawn uniformly from this many, key:<12 digits> (redis-benchmark's -r)")
        ->capture_default_str();
    resp->add_option("--mset-keys", o.mset_keys, "keys per MSET")->capture_default_str();
    resp->add_flag("--hash-tag", o.hash_tag,
                   "a request's keys share a {hash tag} drawn per request: MSET stays on one shard");
    resp->add_option("--auth", o.auth, "password sent with AUTH on every new connection");
    auto* http = cli.add_option_group("http", "HTTP mode (percore-httpd, nginx): GET PATH on kept-alive connections");
    http->add_option("--path", o.path, "the path each request GETs (a 200 with a Content-Length body expected)")
        ->capture_default_str();
    cli.add_option("--timeout-ms", o.timeout_ms, "a connect or reply slower than this is an error")
        ->check(CLI::Range(1u, 3'600'000u))
        ->capture_default_str();
    return app.run(argc, argv, [&]() -> percore::task<int> {
        if (o.mode == "http" && port->count() == 0) {
            o.port = 8080;
        }
        if (o.mode == "resp") {
            if (port->count() == 0) {
                o.port = 6379;
            }
            if (size->count() == 0) {
                o.size = 3; // redis-benchmark's -d
            }
        }
        if (o.messages > 0) {
            if (warmup->count() == 0) {
                o.warmup_s = 0;
            }
            if (duration->count() == 0) {
                o.duration_s = 0;
            }
        } else if (o.duration_s <= 0) {
            std::fprintf(stderr, "percore-load: --duration must be positive (or give --messages)\n");
            co_return 2;
        }
        if (o.rate > 0 && o.connections / o.rate > 3600) {
            std::fprintf(stderr,
                         "percore-load: --rate %g gives each of %u connections less than one message an "
                         "hour: use fewer connections\n",
                         o.rate, o.connections);
            co_return 2;
        }
        co_return co_await percore::load::run_load(o);
    });
}
