// percore-httpd: a per-core HTTP/1.1 server: a fixed /hello route and, with --root, a directory's files.
//
//   percore-httpd [--address 127.0.0.1] [--port 8080] [--root DIR] [limits, cache and engine flags]
//
// Every shard accepts (SO_REUSEPORT) and has its own router and file cache. SIGTERM or SIGINT: stop accepting,
// close idle connections, let requests in progress finish (--drain-timeout-ms), print the counters, exit 0.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "apps/httpd/static_files.hh"
#include "net/config.hh"
#include "net/http/server.hh"
#include "net/serve_until_signal.hh"
#include "runtime/run.hh"
#include "shard/app.hh"
#include "shard/shard_id.hh"

namespace {

namespace http = percore::net::http;

constexpr std::string_view hello_body = "Hello, World!\n";

struct httpd_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;
    std::string root;
    std::size_t max_connections = 0;
    unsigned drain_timeout_ms = 5000;
    std::string accept_mode = "reuseport";
    http::limits limits;
    unsigned idle_timeout_ms = 60'000;
    unsigned header_timeout_ms = 10'000;
    unsigned body_timeout_ms = 10'000;
    percore::httpd::file_cache_options cache;
    unsigned cache_ttl_ms = 1000;
    percore::net::config net;
};

percore::task<http::response> hello(http::request&) {
    http::response r(200);
    r.set_content_type("text/plain");
    r.set_body(std::string(hello_body));
    co_return r;
}

http::router make_router(const httpd_options& o, const std::string& root) {
    http::router r;
    r.add(http::method::get, "/hello", hello);
    if (!root.empty()) {
        percore::httpd::static_options so;
        so.root = root;
        so.cache = o.cache;
        so.cache.ttl = std::chrono::milliseconds(o.cache_ttl_ms);
        auto files = std::make_shared<percore::httpd::static_files>(so); // this shard's, with its cache
        r.add(http::method::get, "/{path...}", [files](http::request& req) { return files->serve(req); });
    }
    return r;
}

percore::task<int> run_httpd(httpd_options o) {
    using namespace percore;
    std::string root;
    if (!o.root.empty()) {
        try {
            root = co_await httpd::resolve_root(o.root);
        } catch (const std::system_error& e) {
            std::fprintf(stderr, "percore-httpd: %s\n", e.what());
            co_return 2;
        }
    }
    http::server_options so;
    so.net.address = net::socket_address::from_host_port(o.address, o.port);
    so.net.mode = net::parse_accept_mode(o.accept_mode);
    so.net.max_connections = o.max_connections;
    so.net.drain_timeout = std::chrono::milliseconds(o.drain_timeout_ms);
    so.limits = o.limits;
    so.limits.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
    so.limits.header_timeout = std::chrono::milliseconds(o.header_timeout_ms);
    so.limits.body_timeout = std::chrono::milliseconds(o.body_timeout_ms);
    http::server srv(so, [o, root] { return make_router(o, root); });
    co_await net::serve_until_signal(
        srv, "percore-httpd", std::to_string(shard_count()) + " shards" + (root.empty() ? "" : ", serving " + root),
        "idle ones closed, draining the rest");
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    percore::app app("percore-httpd", "A per-core HTTP/1.1 server: /hello and a directory's files");
    httpd_options o;
    auto& cli = app.cli();
    cli.add_option("--address", o.address, "IP address to listen on (loopback by default)")->capture_default_str();
    cli.add_option("--port", o.port, "TCP port (0: any free port)")->capture_default_str();
    cli.add_option("--root", o.root, "directory to serve (GET and HEAD of /PATH); none: only /hello");
    cli.add_option("--max-connections", o.max_connections, "connections open at once over all shards (0: no limit)")
        ->capture_default_str();
    cli.add_option("--drain-timeout-ms", o.drain_timeout_ms,
                   "on SIGTERM, how long requests in progress may finish before they are cut")
        ->capture_default_str();
    cli.add_option("--accept-mode", o.accept_mode,
                   "reuseport: every shard accepts; handoff: shard 0 accepts and hands connections out")
        ->check(CLI::IsMember({"reuseport", "handoff"}))
        ->capture_default_str();
    cli.add_option("--max-request-line", o.limits.max_request_line, "bytes of a request line (414 past it)")
        ->capture_default_str();
    cli.add_option("--max-header-bytes", o.limits.max_header_bytes, "bytes of a header block (431 past it)")
        ->capture_default_str();
    cli.add_option("--max-headers", o.limits.max_headers, "header fields of a request (431 past it)")
        ->capture_default_str();
    cli.add_option("--max-body-size", o.limits.max_body_size, "bytes of a request body (413 past it)")
        ->capture_default_str();
    cli.add_option("--idle-timeout-ms", o.idle_timeout_ms,
                   "close a kept-alive connection with no request for this long (0: never)")
        ->capture_default_str();
    cli.add_option("--header-timeout-ms", o.header_timeout_ms,
                   "a request head must arrive within this long of its first byte, else 408 (0: never)")
        ->capture_default_str();
    cli.add_option("--body-timeout-ms", o.body_timeout_ms, "longest wait for the next bytes of a body (0: never)")
        ->capture_default_str();
    cli.add_option("--file-cache-bytes", o.cache.max_bytes, "bytes of small files each shard keeps in memory")
        ->capture_default_str();
    cli.add_option("--file-cache-max-file", o.cache.max_file,
                   "files up to this size are cached; larger ones are streamed from storage")
        ->capture_default_str();
    cli.add_option("--file-cache-ttl-ms", o.cache_ttl_ms, "how long a cached file is served before it is re-read")
        ->capture_default_str();
    cli.add_option("--recv-buffers", o.net.recv_buffers, "receive ring buffers per shard (a power of two)")
        ->capture_default_str();
    cli.add_option("--recv-buffer-size", o.net.recv_buffer_size, "bytes per receive buffer (a multiple of 64)")
        ->capture_default_str();
    return app.run(argc, argv, [&]() -> percore::task<int> {
        try {
            percore::net::set_config(o.net);
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "percore-httpd: %s\n", e.what());
            co_return 2;
        }
        co_return co_await run_httpd(o);
    });
}
