#include "apps/load/shard_worker.hh"

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>

#include <fmt/format.h>

#include "runtime/errors.hh"
#include "runtime/sync/semaphore.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"

namespace percore::load {

namespace {

/// Why the watchdog (or the sender) aborted a connection's task.
enum class abort_reason { none, timeout, hard_stop, send_failed };

constexpr std::uint64_t no_quota = std::numeric_limits<std::uint64_t>::max();

std::uint64_t to_ns(duration d) noexcept {
    return d.count() <= 0 ? 0
                          : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

} // namespace

struct shard_worker::conn {
    std::uint64_t id = 0;
    /// Measured messages this connection still sends (no_quota: time-bounded run).
    std::uint64_t quota = no_quota;
    net::connection socket;
    std::unique_ptr<codec> requests;
    std::string connect_error;
    join_handle<void> task;   // drive(): reads the replies, owns the sender
    join_handle<void> sender; // send_loop()
    /// Free places in the window: the sender takes one per message, a verified reply gives it back.
    semaphore slots{0};
    /// One unit per message written (the receiver reads its reply), one more when the sender ends.
    semaphore ready{0};
    /// Intended send time of message `seq`, at `seq % depth` (the window never holds more than depth).
    std::vector<time_point> intended;
    std::uint64_t written = 0;  // messages queued on the socket: the next seq to send
    std::uint64_t verified = 0; // replies verified: the next seq to read
    bool receiving_done = false;
    std::string send_failure;
    // Read by the watchdog: messages are in flight while written > verified.
    time_point progress_at{}; // the oldest message in flight was sent or the previous reply verified
    abort_reason aborted_for = abort_reason::none;
};

shard_worker::shard_worker(load_options options)
    : _options(std::move(options))
    , _protocol(make_protocol(_options.mode, protocol_options_of(_options)))
    , _kinds(_protocol->kinds().size()) {
}

shard_worker::~shard_worker() = default;

// ---------------------------------------------------------------------------------------------------- connecting

task<connect_report> shard_worker::connect_all(net::socket_address address) {
    const unsigned shards = shard_count();
    const std::uint64_t total = _options.connections;
    for (std::uint64_t id = this_shard_id(); id < total; id += shards) {
        auto c = std::make_unique<conn>();
        c->id = id;
        if (_options.messages > 0) {
            c->quota = _options.messages / total + (id < _options.messages % total ? 1 : 0);
        }
        c->requests = _protocol->open(id);
        c->slots.signal(_options.depth);
        c->intended.resize(_options.depth);
        _conns.push_back(std::move(c));
    }
    std::vector<task<>> connects;
    connects.reserve(_conns.size());
    for (auto& c : _conns) {
        connects.push_back(connect_one(c.get(), address));
    }
    co_await when_all(std::move(connects));
    connect_report report;
    for (auto& c : _conns) {
        if (c->socket) {
            ++report.connected;
        } else {
            ++report.failed;
            if (report.first_error.empty()) {
                report.first_error = c->connect_error;
            }
        }
    }
    co_return report;
}

task<> shard_worker::connect_one(conn* c, net::socket_address address) {
    try {
        c->socket = co_await net::connect(address, {.timeout = std::chrono::milliseconds(_options.timeout_ms)});
        c->socket.set_read_timeout(std::chrono::milliseconds(_options.timeout_ms));
        std::string refused = co_await c->requests->handshake(c->socket.input(), c->socket.output());
        c->socket.set_read_timeout(duration::zero()); // from here on the watchdog times replies
        if (!refused.empty()) {
            c->connect_error = fmt::format("start a session with {}: {}", address.to_string(), refused);
            c->socket.close();
        }
    } catch (const std::exception& e) {
        c->connect_error = e.what(); // "connect to 127.0.0.1:7000: Connection refused"
        c->socket.close();
    }
}

// ---------------------------------------------------------------------------------------------------- running

task<> shard_worker::run(run_plan plan) {
    _plan = std::move(plan);
    const auto limit = std::chrono::milliseconds(_options.timeout_ms);
    _watchdog.set_callback([this] { on_watchdog(); });
    _watchdog.arm_periodic(
        std::clamp<duration>(limit / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(100)));
    for (auto& c : _conns) {
        if (c->socket) {
            c->task = spawn(drive(c.get()));
        }
    }
    for (auto& c : _conns) {
        if (c->task.valid()) {
            co_await c->task.wait();
        }
    }
    _watchdog.cancel();
}

task<> shard_worker::drive(conn* c) {
    c->sender = spawn(send_loop(c));
    std::string failure;
    try {
        failure = co_await receive_replies(c);
    } catch (const aborted&) {
        if (c->aborted_for == abort_reason::timeout) {
            failure = fmt::format("connection {}, message {}: no reply within {} ms", c->id, c->verified,
                                  _options.timeout_ms);
        } else if (c->aborted_for == abort_reason::send_failed) {
            failure = std::move(c->send_failure);
        } else if (c->aborted_for == abort_reason::hard_stop && c->written > c->verified) {
            failure = fmt::format("connection {}, message {}: still waiting at the hard stop", c->id, c->verified);
        }
    } catch (const std::exception& e) {
        failure = fmt::format("connection {}, message {}: {}", c->id, c->verified, e.what());
    }
    c->receiving_done = true;
    c->sender.abort(); // no effect once it ended
    {
        detail::abort_shield shield; // this task may be aborted already: the sender must not outlive it
        co_await c->sender.wait();
    }
    if (!failure.empty() || c->aborted_for != abort_reason::none) {
        if (!failure.empty()) {
            const std::uint64_t lost = std::max<std::uint64_t>(1, c->written - c->verified);
            if (lost > 1) {
                failure += fmt::format(" ({} messages in flight unverified)", lost);
            }
            add_error(lost, std::move(failure));
        }
        c->socket.close(); // out of step with the server: nothing more can be checked on it
        co_return;
    }
    co_await finish(c);
}

task<std::string> shard_worker::receive_replies(conn* c) {
    const run_plan& p = _plan;
    net::input_stream& in = c->socket.input();
    for (;;) {
        co_await c->ready.wait();
        if (c->verified == c->written) {
            co_return std::string(); // the sender's last unit: it ended and every reply was verified
        }
        const std::uint64_t seq = c->verified;
        check_result r = co_await c->requests->read_reply(in, seq);
        if (!r.ok() && !r.in_step) {
            co_return std::move(r.error);
        }
        const time_point done = clock_type::now();
        ++c->verified;
        c->progress_at = done;
        c->slots.signal();
        if (!r.ok()) { // a wrong answer read whole (RESP -ERR): counted, the connection goes on
            if (r.kind < _kinds.size()) {
                ++_kinds[r.kind].errors;
            }
            add_error(1, std::move(r.error));
            continue;
        }
        if (_stopping || done >= p.measure_until) {
            continue; // the run is over: verified, not recorded
        }
        const time_point intended = c->intended[seq % c->intended.size()];
        const std::uint64_t ns = to_ns(done - intended);
        _interval.record(ns);
        ++_interval_messages;
        if (intended >= p.measure_from) {
            _total.record(ns);
            ++_measured;
            _last_reply = std::max(_last_reply, done);
            if (r.kind < _kinds.size()) {
                ++_kinds[r.kind].requests;
                _kinds[r.kind].nil += r.nil ? 1 : 0;
            }
        }
    }
}

task<> shard_worker::send_loop(conn* c) {
    try {
        co_await send_messages(c);
        c->ready.signal(); // after the last message's unit: the receiver ends once it verified them all
    } catch (const aborted&) {
        // stopped by the receiving side, which is ending
    } catch (const std::exception& e) {
        if (!c->receiving_done && c->aborted_for == abort_reason::none) {
            c->send_failure = fmt::format("connection {}, message {}: {}", c->id, c->verified, e.what());
            c->aborted_for = abort_reason::send_failed;
            c->task.abort(); // the receiver may wait for replies that will never come
        }
    }
}

bool shard_worker::sending_over(const conn* c, time_point now) const noexcept {
    return _stopping || now >= _plan.measure_until || c->quota == 0;
}

task<> shard_worker::send_messages(conn* c) {
    const run_plan& p = _plan;
    const load_options& o = p.options;
    const bool open_loop = o.rate > 0;
    // Open loop: this connection's share of the rate, its sends staggered against the other connections'.
    const double period_s = open_loop ? o.connections / o.rate : 0.0;
    const auto period = std::max(duration(1), // a rate beyond the clock's resolution: as fast as slots free up
                                 std::chrono::duration_cast<duration>(std::chrono::duration<double>(period_s)));
    time_point next_due = p.start + std::chrono::duration_cast<duration>(std::chrono::duration<double>(
                                        period_s * static_cast<double>(c->id) / o.connections));
    net::output_stream& out = c->socket.output();
    co_await sleep_until(p.start);
    for (;;) {
        time_point now = clock_type::now();
        if (sending_over(c, now)) {
            break;
        }
        if (open_loop && next_due > now) {
            co_await sleep_until(std::min(next_due, p.measure_until));
            continue;
        }
        co_await c->slots.wait();
        now = clock_type::now();
        if (sending_over(c, now)) {
            c->slots.signal();
            break;
        }
        // A burst: every message that may go now and has a free slot, then one flush. Open loop: all that are
        // due (a late connection catches up); measured messages come last, no more of them than the quota.
        unsigned held = 1;
        unsigned n = 0;
        for (;;) {
            const time_point intended = open_loop ? next_due : now;
            if (intended > now) {
                break;
            }
            const bool measured = intended >= p.measure_from;
            if (measured && c->quota == 0) {
                break;
            }
            if (n == held) {
                if (!c->slots.try_wait()) {
                    break;
                }
                ++held;
            }
            const std::uint64_t seq = c->written;
            c->intended[seq % c->intended.size()] = intended;
            if (c->written == c->verified) {
                c->progress_at = now; // nothing was in flight: the wait for a reply starts now
            }
            ++c->written;
            if (measured && c->quota != no_quota) {
                --c->quota;
            }
            if (open_loop) {
                next_due += period;
            }
            ++n;
            auto queued = c->requests->write_request(out, seq);
            c->ready.signal(); // before any wait for the kernel: the replies must be read meanwhile
            co_await queued;
        }
        c->slots.signal(held - n);
        co_await out.flush();
    }
}

task<> shard_worker::finish(conn* c) {
    // Half-close and read to EOF: bytes the server sends beyond the last reply are an error too. A server that
    // keeps the connection open after our FIN is not at fault: stop waiting after a while.
    std::uint64_t extra = 0;
    try {
        co_await c->socket.output().close();
        c->socket.set_read_timeout(
            std::min<duration>(std::chrono::milliseconds(_options.timeout_ms), std::chrono::seconds(1)));
        for (;;) {
            net::buffer b = co_await c->socket.input().read();
            if (b.empty()) {
                break;
            }
            extra += b.size();
        }
    } catch (const std::exception&) {
        // timed out, reset after the last reply, or cut at the hard stop: every reply was verified already
    }
    if (extra > 0) {
        add_error(1, fmt::format("connection {}: {} unexpected bytes after the last reply", c->id, extra));
    }
    c->socket.close();
}

void shard_worker::on_watchdog() noexcept {
    const time_point now = clock_type::now();
    const bool hard = now >= _plan.hard_stop;
    const auto limit = std::chrono::milliseconds(_options.timeout_ms);
    for (auto& c : _conns) {
        if (!c->task.valid() || c->task.done() || c->aborted_for != abort_reason::none) {
            continue;
        }
        if (hard) {
            c->aborted_for = abort_reason::hard_stop;
            c->task.abort();
        } else if (c->written > c->verified && now - c->progress_at > limit) {
            c->aborted_for = abort_reason::timeout;
            c->task.abort();
        }
    }
}

void shard_worker::add_error(std::uint64_t count, std::string detail) {
    _errors += count;
    _interval_errors += count;
    if (_details_kept < max_error_details) {
        ++_details_kept;
        _error_details.push_back(std::move(detail));
    }
}

// ---------------------------------------------------------------------------------------------------- reporting

progress_sample shard_worker::take_progress() {
    progress_sample s{_interval_messages, _interval_errors, _interval, std::move(_error_details)};
    _interval.reset();
    _interval_messages = 0;
    _interval_errors = 0;
    _error_details.clear();
    return s;
}

final_sample shard_worker::results() {
    final_sample s{_measured, _errors, _total, _last_reply, std::move(_error_details), _kinds};
    _error_details.clear();
    return s;
}

task<> shard_worker::stop() {
    _watchdog.cancel();
    for (auto& c : _conns) {
        if (c->task.valid() && !c->task.done()) {
            c->task.abort(); // only after an interrupted run: never leave a task pointing at a freed worker
            co_await c->task.wait();
        }
        c->socket.close();
    }
}

} // namespace percore::load
