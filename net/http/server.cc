#include "net/http/server.hh"

#include <utility>
#include <vector>

#include "net/http/detail/session.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore::net::http {

namespace {

task<> serve_in(connection c, std::shared_ptr<detail::shard_context> ctx) {
    detail::session s(c, ctx->routes, ctx->options, ctx.get());
    co_await s.run();
}

} // namespace

task<> serve(connection c, const router& r, const server_options& o) {
    detail::session s(c, r, o, nullptr);
    co_await s.run();
}

namespace {

/// Each shard's context, indexed by shard id: filled as net::server builds the shards' handlers, valid until
/// net::server::stop() returned (the handlers own them).
std::function<connection_handler()> handler_factory(server_options options, std::function<router()> make_router,
                                                    std::shared_ptr<std::vector<detail::shard_context*>> contexts) {
    return [options = std::move(options), make_router = std::move(make_router), contexts]() -> connection_handler {
        auto ctx = std::make_shared<detail::shard_context>(make_router(), options);
        (*contexts)[this_shard_id()] = ctx.get();
        return [ctx](connection c) { return serve_in(std::move(c), ctx); };
    };
}

} // namespace

server::server(server_options options, std::function<router()> make_router)
    : _contexts(std::make_shared<std::vector<detail::shard_context*>>())
    , _net(options.net, handler_factory(options, std::move(make_router), _contexts)) {
}

server::~server() = default;

task<> server::start() {
    // Sized here, not in the constructor: a server may be made before the engine knows its shards. The shards
    // fill their own slots while _net starts (each builds its handler), never resizing it.
    _contexts->assign(shard_count(), nullptr);
    co_await _net.start();
}

task<> server::stop() {
    if (std::exchange(_stopped, true)) {
        co_return; // the contexts went with the handlers
    }
    auto contexts = _contexts;
    co_await invoke_on_all([contexts] {
        if (detail::shard_context* ctx = (*contexts)[this_shard_id()]) {
            ctx->stop();
        }
    });
    co_await _net.stop();
}

const socket_address& server::local_address() const noexcept {
    return _net.local_address();
}

task<net::server_stats> server::stats() {
    co_return co_await _net.stats();
}

} // namespace percore::net::http
