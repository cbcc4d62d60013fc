#include "net/metrics_endpoint.hh"

#include "runtime/log.hh"
#include "runtime/metrics/exposition.hh"
#include "shard/app.hh"
#include "shard/gather_metrics.hh"
#include "shard/submit_to.hh"

namespace percore::net {

namespace {

logger endpoint_log("net.metrics");

http::server_options endpoint_options(socket_address address) {
    http::server_options o;
    o.net.address = address;
    o.net.name = "metrics";
    return o;
}

task<http::response> metrics_page(http::request&) {
    http::response r(200);
    r.set_content_type(metrics::prometheus_content_type);
    r.set_body(co_await gather_prometheus_text());
    co_return r;
}

task<http::response> health_page(http::request&) {
    co_await invoke_on_all([] {}); // every shard's reactor is turning
    co_return http::response::text(200, "ok\n");
}

/// Runs `main` with the endpoint around it (a named coroutine: its parameters live in the frame).
task<int> with_endpoint(std::string host, std::uint16_t port, std::function<task<int>()> main) {
    metrics_endpoint endpoint(socket_address::from_host_port(host, port)); // a bad address fails main, named
    co_await endpoint.start();
    endpoint_log.info("serving /metrics and /healthz on http://{}", endpoint.local_address().to_string());
    // On an exception (an abort at shutdown included) the server's shutdown hook stops it.
    const int code = co_await main();
    co_await endpoint.stop();
    co_return code;
}

} // namespace

metrics_endpoint::metrics_endpoint(socket_address address)
    : _http(endpoint_options(address), [] {
        http::router r;
        r.add(http::method::get, "/metrics", metrics_page);
        r.add(http::method::get, "/healthz", health_page);
        return r;
    }) {
}

task<> metrics_endpoint::start() {
    co_await _http.start();
}

task<> metrics_endpoint::stop() {
    co_await _http.stop();
}

void serve_metrics(app& a) {
    a.set_metrics_service([](const engine_config& config, std::function<task<int>()> main) {
        return with_endpoint(config.metrics_address, config.metrics_port, std::move(main));
    });
}

} // namespace percore::net
