#include "apps/kv/session.hh"

#include <algorithm>
#include <chrono>

#include "apps/kv/command_meta.hh"
#include "apps/kv/commands/util.hh"
#include "apps/kv/cross_shard.hh"
#include "apps/kv/global_commands.hh"
#include "apps/kv/slot.hh"
#include "runtime/abort_shield.hh"
#include "runtime/defer.hh"
#include "runtime/errors.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"

namespace percore::kv {

namespace {

constinit thread_local std::uint64_t tl_next_client = 0;

// Replies a window may produce before they are written out: a pipeline of commands with large replies from a
// client that does not read holds about this much (and one reply) in the session, not the whole window.
constexpr std::size_t window_reply_budget = 256 * 1024;
// Output is copied into the send queue this much at a time (see write_out).
constexpr std::size_t write_slice = 64 * 1024;
// Output room kept between windows; more is given back.
constexpr std::size_t kept_output = 64 * 1024;
// Argument references kept between windows (a request of a million arguments must not leave 40 MB behind).
constexpr std::size_t kept_args = 4096;

template <typename T>
void give_back_if_large(std::vector<T>& v) {
    if (v.capacity() > kept_args) {
        std::vector<T>().swap(v);
    }
}

std::uint64_t next_client_id() noexcept {
    // Unique over the shards: this shard's counter, interleaved with the others'.
    return ++tl_next_client * shard_count() + this_shard_id();
}

std::string encoded_error(std::string_view text) {
    std::string out;
    resp::reply_writer w(out, 2);
    w.error(text);
    return out;
}

std::string unknown_command_error(argv_t argv) {
    std::string args;
    for (std::size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
        args += '\'';
        args.append(argv[i].substr(0, 128 - args.size()));
        args += "' ";
    }
    return "ERR unknown command '" + std::string(argv[0].substr(0, 128)) + "', with args beginning with: " + args;
}

} // namespace

session::session(net::connection c, sharded<shard_state>& shards)
    : _conn(std::move(c))
    , _shards(shards)
    , _parser(shards.local().config().limits)
    , _id(next_client_id())
    , _created_ms(now_ms())
    , _last_ms(_created_ms) {
    try {
        _peer = _conn.remote_address().to_string();
        _local = _conn.local_address().to_string();
    } catch (const std::exception&) {
        // a socket the peer already reset: the addresses stay empty
    }
    _batches.resize(shard_count());
    _positions.resize(shard_count());
}

session::~session() = default;

void session::kill() noexcept {
    _killed = true;
    _conn.close();
}

void session::apply_settings() {
    if (_killed) {
        return; // its connection is closed (and its streams gone): it is about to leave
    }
    const settings& cfg = local_shard().config();
    _parser.set_limits(cfg.limits);
    _conn.set_read_timeout(std::chrono::seconds(cfg.timeout_s)); // zero: no timeout
}

task<> session::run() {
    shard_state& sh = local_shard();
    ++sh.counters.connections_received;
    if (sh.clients().size() >= sh.client_share()) {
        ++sh.counters.rejected_connections;
        co_await _conn.output().write(std::string_view("-ERR max number of clients reached\r\n"));
        co_await _conn.output().close();
        co_return;
    }
    sh.add_client(*this);
    auto leave = defer([this] { local_shard().remove_client(*this); });
    _authenticated = sh.config().requirepass.empty();
    _parser.set_authenticated(_authenticated);
    if (sh.config().timeout_s != 0) {
        _conn.set_read_timeout(std::chrono::seconds(sh.config().timeout_s));
    }
    std::exception_ptr failure;
    try {
        co_await serve();
    } catch (const timed_out&) {
        // idle past `timeout`: closed, as Redis does, without a reply
    } catch (const std::system_error&) {
        // reset by the peer, or killed
    } catch (...) {
        failure = std::current_exception();
    }
    if (!_watched_shards.empty()) {
        abort_shield shield;
        co_await unwatch_all();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

task<> session::serve() {
    for (;;) {
        net::buffer b = co_await _conn.input().read();
        if (b.empty() || _killed) {
            break;
        }
        local_shard().counters.net_input_bytes += b.size();
        ++local_shard().counters.reads_processed;
        _parser.feed(std::move(b));
        const std::uint64_t sent = local_shard().counters.net_output_bytes;
        co_await process_window();
        local_shard().counters.writes_processed += local_shard().counters.net_output_bytes != sent ? 1 : 0;
        if (_closing || _killed) {
            break;
        }
    }
    if (!_killed) {
        co_await _conn.output().close();
    }
}

task<> session::process_window() {
    _last_ms = now_ms();
    _in_window = true;
    auto idle_again = defer([this] { _in_window = false; });
    for (;;) {
        const resp::parse_status st = _parser.next(_argv);
        if (st == resp::parse_status::need_more) {
            break;
        }
        if (st == resp::parse_status::error) {
            co_await flush_window();
            if (!_parser.close_silently()) {
                resp::reply_writer(_out, _protocol).error(_parser.error());
            }
            _closing = true;
            break;
        }
        if (const command_spec* barrier = dispatch(_argv)) {
            co_await flush_window();
            co_await run_barrier(*barrier, _argv);
            if (_out.size() >= window_reply_budget) {
                co_await write_out(); // as flush_window does: a client that does not read holds one budget
            }
        }
        if (_closing) {
            break;
        }
    }
    co_await flush_window();
    _parser.release_consumed();
    give_back_if_large(_argv);
    give_back_if_large(_args);
    give_back_if_large(_keys);
    co_await write_out();
}

task<> session::write_out() {
    if (_out.empty() || _killed) {
        _out.clear();
        co_return; // killed while a window ran: the connection is closed
    }
    local_shard().counters.net_output_bytes += _out.size();
    // As Redis, `timeout` also closes a client that stops taking its replies (reads time out in the stream).
    timer stalled;
    if (const std::uint64_t t = local_shard().config().timeout_s; t != 0) {
        stalled.set_callback([this] { kill(); });
        stalled.arm(std::chrono::seconds(t));
    }
    // In slices: each write waits while more than max_unsent bytes are unsent, so the send queue holds at most
    // that and one slice, not a second copy of all of _out.
    const std::string_view out(_out);
    for (std::size_t at = 0; at < out.size(); at += write_slice) {
        co_await _conn.output().write(out.substr(at, write_slice));
    }
    co_await _conn.output().flush();
    if (_out.capacity() > kept_output) {
        std::string().swap(_out); // a large reply's room goes back
    } else {
        _out.clear();
    }
}

int session::owner_shard(const command_spec& spec, argv_t argv) {
    const unsigned n = shard_count();
    if (n == 1 || spec.first_key <= 0) {
        return static_cast<int>(this_shard_id());
    }
    key_positions(spec, argv, _keys);
    if (_keys.empty()) {
        return static_cast<int>(this_shard_id());
    }
    const unsigned owner = slot_shard(key_slot(argv[_keys[0]]), n);
    for (std::size_t i = 1; i < _keys.size(); ++i) {
        if (slot_shard(key_slot(argv[_keys[i]]), n) != owner) {
            return -1;
        }
    }
    return static_cast<int>(owner);
}

void session::add_literal(std::string_view encoded) {
    _literals.append(encoded);
    _window.push_back({nullptr, 0, 0, -1, static_cast<std::uint32_t>(_literals.size())});
}

void session::add_to_window(const command_spec* spec, argv_t argv, int shard) {
    const auto begin = static_cast<std::uint32_t>(_args.size());
    _args.insert(_args.end(), argv.begin(), argv.end());
    _window.push_back({spec, begin, static_cast<std::uint32_t>(argv.size()), shard, 0});
}

void session::queue_in_multi(const command_spec& spec, argv_t argv) {
    _queued.emplace_back().assign(&spec, argv);
    add_literal("+QUEUED\r\n");
}

const command_spec* session::dispatch(argv_t argv) {
    const command_spec* spec = find_command(argv[0]);
    if (spec == nullptr) {
        add_literal(encoded_error(unknown_command_error(argv)));
        _multi_failed = _multi_failed || _in_multi;
        return nullptr;
    }
    if (!arity_ok(spec->arity, argv.size())) {
        add_literal(encoded_error(arity_error(spec->name)));
        _multi_failed = _multi_failed || _in_multi;
        return nullptr;
    }
    const subcommand_spec* sub = nullptr;
    if (std::string e = check_subcommand(*spec, argv, sub); !e.empty()) {
        add_literal(encoded_error(e));
        _multi_failed = _multi_failed || _in_multi;
        return nullptr;
    }
    if (!_authenticated && (spec->flags & cmd_noauth) == 0) {
        add_literal(encoded_error("NOAUTH Authentication required."));
        _multi_failed = _multi_failed || _in_multi;
        return nullptr;
    }
    _last_command = sub != nullptr ? sub->name : spec->name; // CLIENT LIST shows "client|list"
    if (_in_multi && (spec->flags & cmd_nomulti) == 0) {
        queue_in_multi(*spec, argv);
        return nullptr;
    }
    if (spec->kind == cmd_kind::keyed) {
        const int owner = owner_shard(*spec, argv);
        if (owner >= 0) {
            add_to_window(spec, argv, owner);
            return nullptr;
        }
    }
    return spec;
}

task<> session::flush_window() {
    if (_window.empty()) {
        co_return;
    }
    const auto here = static_cast<int>(this_shard_id());
    bool only_here = true;
    for (const pending& p : _window) {
        only_here = only_here && p.shard == here;
    }
    for (const pending& p : _window) {
        if (p.shard < 0) {
            continue;
        }
        batch& b = _batches[static_cast<std::size_t>(p.shard)];
        b.specs.push_back(p.spec);
        b.argvs.emplace_back(_args.data() + p.arg_begin, p.arg_count);
        b.writes = b.writes || (p.spec->flags & cmd_write) != 0;
        b.protocol = _protocol;
        b.reply_budget = window_reply_budget;
    }
    shard_state& sh = local_shard();
    if (only_here) {
        // Everything is local: run it straight into the output, which goes out whenever the budget is reached.
        batch& b = _batches[static_cast<std::size_t>(here)];
        for (;;) {
            std::swap(b.replies, _out);
            co_await sh.run(b);
            std::swap(b.replies, _out);
            if (b.finished()) {
                break;
            }
            co_await write_out();
        }
    } else {
        co_await run_batches_in_rounds();
    }
    for (batch& b : _batches) {
        b.specs.clear();
        b.argvs.clear();
        if (b.replies.capacity() > kept_output) {
            std::string().swap(b.replies);
        }
        b.replies.clear();
        b.ends.clear();
        b.trimmed = 0;
        b.writes = false;
    }
    _window.clear();
    _args.clear();
    _literals.clear();
}

task<> session::run_batches_in_rounds() {
    // Each round runs, at once, every batch with commands left whose undelivered replies are within the budget,
    // then delivers replies in request order as far as they are there, and writes them out (waiting while the
    // client does not read). The batch that holds the first undelivered command has delivered all it ran, so
    // it runs in the next round: every round makes progress, and no batch holds much more than the budget.
    const auto here = static_cast<std::size_t>(this_shard_id());
    std::fill(_positions.begin(), _positions.end(), 0);
    std::size_t next = 0;
    std::uint32_t literal_begin = 0;
    for (;;) {
        std::vector<task<>> remote;
        bool run_here = false;
        for (std::size_t s = 0; s < _batches.size(); ++s) {
            batch& b = _batches[s];
            if (b.finished() || b.replies.size() >= b.reply_budget) {
                continue;
            }
            if (s == here) {
                run_here = true;
            } else {
                remote.push_back(
                    _shards.invoke_on(static_cast<unsigned>(s), [bp = &b](shard_state& st) { return st.run(*bp); }));
            }
        }
        if (run_here) {
            co_await local_shard().run(_batches[here]);
        }
        co_await when_all(std::move(remote));
        for (; next < _window.size(); ++next) {
            const pending& p = _window[next];
            if (p.shard < 0) {
                _out.append(_literals, literal_begin, p.literal_end - literal_begin);
                literal_begin = p.literal_end;
                continue;
            }
            const auto s = static_cast<std::size_t>(p.shard);
            const batch& b = _batches[s];
            const std::uint32_t i = _positions[s];
            if (i >= b.ends.size()) {
                break; // not run yet
            }
            const std::size_t begin = (i == 0 ? 0 : b.ends[i - 1]) - b.trimmed;
            _out.append(b.replies, begin, b.ends[i] - b.trimmed - begin);
            ++_positions[s];
        }
        if (next == _window.size()) {
            co_return;
        }
        for (std::size_t s = 0; s < _batches.size(); ++s) {
            batch& b = _batches[s];
            if (const std::uint32_t i = _positions[s]; i > 0 && b.ends[i - 1] > b.trimmed) {
                b.replies.erase(0, b.ends[i - 1] - b.trimmed);
                b.trimmed = b.ends[i - 1];
            }
        }
        co_await write_out();
    }
}

task<> session::run_barrier(const command_spec& spec, argv_t argv) {
    // Keyed commands count where they run (shard_state::execute_one); these run here, once.
    ++local_shard().counters.commands;
    _argv_bytes = 0;
    for (std::string_view a : argv) {
        _argv_bytes += a.size();
    }
    auto done = defer([this] { _argv_bytes = 0; });
    switch (spec.kind) {
    case cmd_kind::session:
        co_await run_session_command(spec, argv);
        break;
    case cmd_kind::global:
        co_await run_global_command(spec, argv);
        break;
    case cmd_kind::keyed: {
        resp::reply_writer out(_out, _protocol);
        co_await run_cross_shard(_shards, spec, argv, out, nullptr);
        break;
    }
    }
}

task<> session::run_global_command(const command_spec& spec, argv_t argv) {
    resp::reply_writer out(_out, _protocol);
    co_await run_global(*this, spec, argv, out, nullptr);
}

task<> session::unwatch_all() {
    std::vector<task<>> parts;
    for (unsigned s : _watched_shards) {
        parts.push_back(_shards.invoke_on(s, [id = _id](shard_state& st) { st.db.unwatch(id); }));
    }
    _watched_shards.clear();
    co_await when_all(std::move(parts));
}

} // namespace percore::kv
