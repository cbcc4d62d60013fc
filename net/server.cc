#include "net/server.hh"

#include <exception>
#include <stdexcept>
#include <unordered_map>

#include "runtime/log.hh"
#include "runtime/metrics/registry.hh"
#include "runtime/run.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/gate.hh"
#include "runtime/timer.hh"
#include "shard/shard_id.hh"
#include "shard/sharded.hh"

namespace percore::net {

namespace {
logger server_log("net.server");
} // namespace

accept_mode parse_accept_mode(std::string_view text) {
    if (text == "reuseport" || text == "reuse_port") {
        return accept_mode::reuse_port;
    }
    if (text == "handoff") {
        return accept_mode::handoff;
    }
    throw std::invalid_argument(fmt::format("accept mode '{}': expected 'reuseport' or 'handoff'", text));
}

/// One shard's part of a server: its listener (if it accepts), its handler and the connections it runs.
class shard_server {
public:
    shard_server(server::state* owner, const std::function<connection_handler()>& make_handler, const std::string& name)
        : _owner(owner)
        , _handler(make_handler())
        , _metrics(local_registry_collector(name)) {}

    void set_limit(std::size_t limit) noexcept { _limit = limit; }
    void bind(const socket_address& address, listen_options options) { _listener = listener::listen(address, options); }
    [[nodiscard]] socket_address bound_address() const { return _listener.local_address(); }
    void start_accepting(bool handoff) { _accept_loop = spawn(accept_loop(this, handoff)); }

    /// A socket accepted here or handed over by the accepting shard.
    void admit(int fd) {
        connection c(fd);
        if (_stopping || (_limit != 0 && _live.size() >= _limit)) {
            ++_rejected;
            return; // closed as `c` goes
        }
        ++_accepted;
        const std::uint64_t id = _next_id++;
        _live.emplace(id, spawn(run(this, id, std::move(c), _connections.hold())));
    }

    task<> stop_accepting() {
        _stopping = true;
        _listener.close(); // a pending accept raises ECANCELED
        if (_accept_loop.valid()) {
            _accept_loop.abort();
            co_await _accept_loop.wait();
        }
    }

    task<> drain(std::chrono::milliseconds timeout) {
        timer deadline([this] {
            if (!_live.empty()) {
                server_log.info("aborting {} connections still open after the drain timeout", _live.size());
            }
            for (auto& entry : _live) {
                entry.second.abort();
            }
        });
        deadline.arm(duration(timeout));
        co_await _connections.close();
    }

    [[nodiscard]] server_stats stats() const noexcept { return {_accepted, _rejected, _live.size(), _failed}; }

private:
    /// Per shard, read from the counters above: percore_net_connections_{open,accepted_total,refused_total,
    /// failed_total}{server="<name>"}.
    metrics::registration local_registry_collector(const std::string& name) {
        return metrics::local_registry().add_collector([this, name](metrics::sample_sink& out) {
            const metrics::labels l{{"server", name}};
            out.gauge("percore_net_connections_open", "Connections whose handler runs now", l,
                      static_cast<double>(_live.size()));
            out.counter("percore_net_connections_accepted_total", "Connections accepted and handed to the handler", l,
                        static_cast<double>(_accepted));
            out.counter("percore_net_connections_refused_total",
                        "Connections closed at once: over max_connections, or the server was stopping", l,
                        static_cast<double>(_rejected));
            out.counter("percore_net_connections_failed_total", "Connection handlers that ended with an error", l,
                        static_cast<double>(_failed));
        });
    }

    static task<> run(shard_server* self, std::uint64_t id, connection c, gate::holder hold);
    static task<> accept_loop(shard_server* self, bool handoff);

    server::state* _owner;
    connection_handler _handler;
    std::size_t _limit = 0;
    listener _listener;
    join_handle<void> _accept_loop;
    gate _connections;
    std::unordered_map<std::uint64_t, join_handle<void>> _live;
    std::uint64_t _next_id = 0;
    std::uint64_t _accepted = 0;
    std::uint64_t _rejected = 0;
    std::uint64_t _failed = 0;
    bool _stopping = false;
    metrics::registration _metrics;
};

struct server::state {
    server_options options;
    std::function<connection_handler()> make_handler;
    sharded<shard_server> shards;
    socket_address bound;
    bool started = false;
    bool stopped = false;
    std::uint64_t hook = 0;

    task<> stop() {
        if (!started || stopped) {
            co_return;
        }
        stopped = true;
        remove_shutdown_hook(hook);
        // Accepting ends everywhere first: once shard 0's accept loop is gone, every handoff it made is already
        // on its way, ahead of the drain request on the same bus ring.
        co_await shards.invoke_on_all([](shard_server& s) { return s.stop_accepting(); });
        auto timeout = options.drain_timeout;
        co_await shards.invoke_on_all([timeout](shard_server& s) { return s.drain(timeout); });
        co_await shards.stop();
    }
};

task<> shard_server::run(shard_server* self, std::uint64_t id, connection c, gate::holder hold) {
    try {
        co_await self->_handler(std::move(c));
    } catch (const aborted&) {
        // drain timeout or shutdown
    } catch (const std::exception& e) {
        ++self->_failed;
        server_log.debug("connection handler failed: {}", e.what());
    }
    self->_live.erase(id); // detaches this very fiber's handle: it finishes on its own
}

task<> shard_server::accept_loop(shard_server* self, bool handoff) {
    unsigned next = 0;
    for (;;) {
        int fd = -1;
        try {
            fd = co_await self->_listener.accept_fd();
        } catch (const std::system_error& e) {
            if (self->_stopping) {
                co_return;
            }
            // Out of descriptors or memory: keep serving what is open and try again shortly.
            server_log.warn("accept failed: {}; retrying in 100 ms", e.what());
        }
        if (fd < 0) {
            co_await sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        unsigned target = this_shard_id();
        if (handoff) {
            target = next;
            next = (next + 1) % shard_count();
        }
        if (target == this_shard_id()) {
            self->admit(fd);
        } else {
            server::state* owner = self->_owner;
            post_to(target, [owner, fd] { owner->shards.local().admit(fd); });
        }
    }
}

server::server(server_options options, std::function<connection_handler()> make_handler)
    : _state(std::make_shared<state>()) {
    _state->options = std::move(options);
    _state->make_handler = std::move(make_handler);
}

server::~server() = default; // a started server lives on in its shutdown hook until stopped

task<> server::start() {
    state* st = _state.get();
    if (st->started) {
        throw std::logic_error("server::start called twice");
    }
    const unsigned shards = shard_count();
    const std::size_t total = st->options.max_connections;
    // Each shard serves an equal share of the limit (the first ones one more when it does not divide).
    co_await st->shards.start(st, st->make_handler, st->options.name);
    st->started = true;
    std::shared_ptr<state> keep = _state;
    st->hook = add_shutdown_hook([keep] { return keep->stop(); });
    std::exception_ptr failure;
    try {
        const bool handoff = st->options.mode == accept_mode::handoff;
        listen_options lo = st->options.listen;
        lo.reuse_port = !handoff;
        shard_server& local = st->shards.local();
        local.bind(st->options.address, lo);
        st->bound = local.bound_address();
        const unsigned home = this_shard_id();
        if (!handoff) {
            socket_address bound = st->bound; // port 0 resolved: every shard binds the same port
            co_await st->shards.invoke_on_all([bound, lo, home](shard_server& s) {
                if (this_shard_id() != home) {
                    s.bind(bound, lo);
                }
            });
        }
        co_await st->shards.invoke_on_all([total, shards, handoff, home](shard_server& s) {
            s.set_limit(total == 0 ? 0 : total / shards + (this_shard_id() < total % shards ? 1 : 0));
            if (!handoff || this_shard_id() == home) {
                s.start_accepting(handoff);
            }
        });
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        co_await st->stop();
        std::rethrow_exception(failure);
    }
}

task<> server::stop() {
    co_await _state->stop();
}

const socket_address& server::local_address() const noexcept {
    return _state->bound;
}

task<server_stats> server::stats() {
    co_return co_await _state->shards.map_reduce([](shard_server& s) { return s.stats(); },
                                                 [](server_stats a, server_stats b) {
                                                     return server_stats{a.accepted + b.accepted,
                                                                         a.rejected + b.rejected, a.active + b.active,
                                                                         a.failed + b.failed};
                                                 },
                                                 server_stats{});
}

} // namespace percore::net
