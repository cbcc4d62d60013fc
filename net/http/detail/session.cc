#include "net/http/detail/session.hh"

#include <charconv>
#include <system_error>

#include "net/http/detail/date_cache.hh"
#include "net/http/request_parser.hh"
#include "net/http/status.hh"
#include "runtime/clock.hh"
#include "runtime/errors.hh"

namespace percore::net::http::detail {

namespace {

/// Time left until `deadline`, at least 1 ns (zero means "no timeout" to a stream).
duration remaining(time_point deadline) noexcept {
    const duration left = deadline - clock_type::now();
    return left > duration::zero() ? left : duration(1);
}

bool past(time_point deadline) noexcept {
    return clock_type::now() >= deadline;
}

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
/// Whether a response with this status carries a body (RFC 9110 6.4.1: not 1xx, 204, 304).
constexpr bool has_body(int status) noexcept {
    return status >= 200 && status != 204 && status != 304;
}

/// Bodies up to this size are copied behind the head (one write); larger ones are written on their own.
constexpr std::size_t copy_limit = 4096;

} // namespace

void shard_context::stop() noexcept {
    stopping = true;
    for (session* s = sessions; s != nullptr;) {
        session* next = s->_next_session; // stop() may end s's read, not s itself: it is still linked
        s->stop();
        s = next;
    }
}

session::session(connection& c, const router& r, const server_options& o, shard_context* ctx) noexcept
    : _c(c)
    , _router(r)
    , _o(o)
    , _ctx(ctx) {
    if (_ctx != nullptr) {
        _next_session = _ctx->sessions;
        if (_next_session != nullptr) {
            _next_session->_prev = this;
        }
        _ctx->sessions = this;
    }
}

session::~session() {
    if (_ctx != nullptr) {
        if (_prev != nullptr) {
            _prev->_next_session = _next_session;
        } else {
            _ctx->sessions = _next_session;
        }
        if (_next_session != nullptr) {
            _next_session->_prev = _prev;
        }
    }
}

void session::stop() noexcept {
    if (_idle && !_closed_by_stop) {
        _closed_by_stop = true;
        _c.close(); // the parked read ends with ECANCELED; run() sees _closed_by_stop and returns
    }
}

task<session::read_outcome> session::read_more(duration timeout, buffer& into) {
    if (_unflushed) {
        _unflushed = false;
        co_await _c.output().flush();
    }
    _c.input().set_timeout(timeout);
    try {
        into = co_await _c.input().read();
    } catch (const timed_out&) {
        co_return read_outcome::timed_out;
    }
    co_return into.empty() ? read_outcome::eof : read_outcome::data;
}

task<> session::run() {
    const limits& lim = _o.limits;
    for (;;) {
        // ---- the head: parsed in place, gathered only when it spans receives
        bool started = !_win.empty();
        time_point deadline = started ? clock_type::now() + lim.header_timeout : time_point{};
        head_result hr;
        for (;;) {
            if (!_win.empty()) {
                hr = parse_request_head(_win.view(), lim, _req, _fields);
                if (hr.status != parse_status::incomplete) {
                    break;
                }
                _win.consume(hr.consumed); // empty lines before the request line
            }
            if (_ctx != nullptr && _ctx->stopping && _win.empty()) {
                co_await linger_close(false);
                co_return;
            }
            duration timeout = lim.idle_timeout;
            if (started) {
                if (lim.header_timeout != duration::zero() && past(deadline)) {
                    co_await reject(408);
                    co_return;
                }
                timeout = lim.header_timeout == duration::zero() ? duration::zero() : remaining(deadline);
            }
            buffer b;
            _idle = !started;
            read_outcome r = read_outcome::eof;
            try {
                r = co_await read_more(timeout, b);
            } catch (const std::system_error&) {
                if (_closed_by_stop) {
                    co_return; // the connection is gone (stop() closed it)
                }
                throw;
            }
            _idle = false;
            if (r == read_outcome::timed_out) {
                if (started) {
                    co_await reject(408);
                } else {
                    co_await linger_close(false); // idle_timeout: a kept-alive connection nobody uses
                }
                co_return;
            }
            if (r == read_outcome::eof) {
                co_await _c.output().close(); // what was answered goes out, then FIN
                co_return;
            }
            if (!started) {
                started = true;
                deadline = clock_type::now() + lim.header_timeout;
            }
            _win.append(std::move(b));
        }
        if (hr.status == parse_status::error) {
            co_await reject(hr.error);
            co_return;
        }
        const framing f = parse_framing(_req, lim);
        _req.set_keep_alive(f.keep_alive);
        if (f.error != 0) {
            co_await reject(f.error);
            co_return;
        }

        // ---- the body
        std::size_t used = hr.consumed; // bytes of the window this request takes
        _req.set_body({});
        if (f.body != framing::body_kind::none) {
            const bool complete = co_await read_body(f, hr.consumed, used);
            if (!complete) {
                co_return;
            }
        }

        // ---- the handler
        int status = 0;
        response resp;
        const handler* h = _router.find(_req, status, _allow);
        if (h != nullptr) {
            bool failed = false;
            try {
                resp = co_await (*h)(_req);
            } catch (const aborted&) {
                throw;
            } catch (const std::exception&) {
                failed = true;
            }
            if (failed) {
                resp = response::error(500);
            }
        } else {
            resp = response::error(status);
            if (status == 405) {
                resp.add_header("Allow", _allow);
            }
        }
        bool keep = _req.keep_alive() && !resp.close() && !(_ctx != nullptr && _ctx->stopping);
        const bool head_only = _req.method() == method::head;
        if (!resp.is_stream()) {
            // The usual response, queued here rather than in send(): no coroutine frame per request.
            body_writer::framing framing{};
            keep = build_head(resp, keep, head_only, _req.version_minor(), framing);
            co_await _c.output().write(_head.view());
            _unflushed = true;
            if (!head_only && has_body(resp.status())) {
                if (!resp.shared_body().empty()) {
                    co_await _c.output().write(std::move(resp.shared_body()));
                } else if (resp.body().size() > copy_limit) {
                    co_await _c.output().write(resp.body());
                }
            }
        } else {
            keep = co_await send(resp, keep, head_only, _req.version_minor());
        }

        // ---- the request's bytes are released; what was read past its body comes next
        _win.consume(used);
        if (!_next.empty()) {
            _win.append(std::move(_next));
            _next.reset();
        }
        if (!keep) {
            co_await linger_close(!_win.empty());
            co_return;
        }
    }
}

task<bool> session::read_body(const framing& f, std::size_t head_size, std::size_t& used) {
    const limits& lim = _o.limits;
    const std::string_view rest = _win.view().substr(head_size);
    _body.clear();
    if (f.body == framing::body_kind::length) {
        const auto length = static_cast<std::size_t>(f.content_length);
        if (rest.size() >= length) {
            _req.set_body(rest.substr(0, length)); // in place
            used += length;
            co_return true;
        }
        _body.reserve(length);
        _body.assign(rest);
        used += rest.size();
        if (f.expect_continue) {
            co_await _c.output().write(continue_line);
            _unflushed = true;
        }
        while (_body.size() < length) {
            buffer b;
            const read_outcome r = co_await read_more(lim.body_timeout, b);
            if (r == read_outcome::timed_out) {
                co_await reject(408);
                co_return false;
            }
            if (r == read_outcome::eof) {
                co_await _c.output().close(); // the client gave up mid-body: there is no one to answer
                co_return false;
            }
            const std::size_t need = length - _body.size();
            if (b.size() > need) {
                _body.append(b.view().substr(0, need));
                b.trim_front(need);
                _next = std::move(b);
            } else {
                _body.append(b.view());
            }
        }
        _req.set_body(_body);
        co_return true;
    }
    chunked_decoder dec(lim);
    chunk_result cr = dec.feed(rest, _body);
    used += cr.consumed;
    if (cr.status == parse_status::incomplete && f.expect_continue) {
        co_await _c.output().write(continue_line);
        _unflushed = true;
    }
    while (cr.status == parse_status::incomplete) {
        buffer b;
        const read_outcome r = co_await read_more(lim.body_timeout, b);
        if (r == read_outcome::timed_out) {
            co_await reject(408);
            co_return false;
        }
        if (r == read_outcome::eof) {
            co_await _c.output().close();
            co_return false;
        }
        cr = dec.feed(b.view(), _body);
        if (cr.status == parse_status::complete && cr.consumed < b.size()) {
            b.trim_front(cr.consumed);
            _next = std::move(b);
        }
    }
    if (cr.status == parse_status::error) {
        co_await reject(cr.error);
        co_return false;
    }
    _req.set_body(_body);
    co_return true;
}

bool session::build_head(response& resp, bool keep_alive, bool head_only, int version_minor,
                         body_writer::framing& framing) {
    const int status = resp.status();
    const bool bodyless = !has_body(status);
    head_buffer& h = _head;
    h.clear();
    h.append("HTTP/1.1 ");
    h.append_number(static_cast<std::uint64_t>(status));
    h.append(' ');
    h.append(reason_phrase(status));
    h.append("\r\n");
    if (!_o.server_name.empty()) {
        h.append("Server: ");
        h.append(_o.server_name);
        h.append("\r\n");
    }
    h.append("Date: ");
    h.append(http_date());
    h.append("\r\n");
    if (!resp.content_type().empty()) {
        h.append("Content-Type: ");
        h.append(resp.content_type());
        h.append("\r\n");
    }
    for (const auto& [name, value] : resp.headers()) {
        h.append(name);
        h.append(": ");
        h.append(value);
        h.append("\r\n");
    }
    framing = body_writer::framing::length;
    if (resp.is_stream()) {
        if (resp.stream_length()) {
            h.append("Content-Length: ");
            h.append_number(*resp.stream_length());
            h.append("\r\n");
        } else if (version_minor >= 1) {
            h.append("Transfer-Encoding: chunked\r\n");
            framing = body_writer::framing::chunked;
        } else {
            framing = body_writer::framing::until_close; // HTTP/1.0 has no chunks: the close ends the body
            keep_alive = keep_alive && head_only;
        }
    } else if (!bodyless) {
        h.append("Content-Length: ");
        h.append_number(resp.body().size());
        h.append("\r\n");
    }
    if (!keep_alive) {
        h.append("Connection: close\r\n");
    } else if (version_minor == 0) {
        h.append("Connection: keep-alive\r\n");
    }
    h.append("\r\n");
    if (!resp.is_stream() && !head_only && !bodyless && resp.shared_body().empty() &&
        resp.body().size() <= copy_limit) {
        h.append(resp.body()); // head and a small body: one copy into the send queue
    }
    return keep_alive;
}

task<bool> session::send(response& resp, bool keep_alive, bool head_only, int version_minor) {
    output_stream& out = _c.output();
    body_writer::framing framing{};
    keep_alive = build_head(resp, keep_alive, head_only, version_minor, framing);
    const bool with_body = !head_only && has_body(resp.status());
    co_await out.write(_head.view());
    _unflushed = true;
    if (!resp.is_stream()) {
        if (with_body && !resp.shared_body().empty()) {
            co_await out.write(std::move(resp.shared_body()));
        } else if (with_body && resp.body().size() > copy_limit) {
            co_await out.write(resp.body());
        }
        co_return keep_alive;
    }
    if (!with_body) {
        co_return keep_alive;
    }
    co_await out.flush();
    _unflushed = false;
    body_writer w(out, framing, resp.stream_length().value_or(0));
    co_await resp.stream_fn()(w);
    co_await w.finish();
    _unflushed = true;
    if (framing == body_writer::framing::length && w.remaining() != 0) {
        keep_alive = false; // the body fell short of its Content-Length: only a close tells the client
    }
    co_return keep_alive;
}

task<> session::reject(int status) {
    response r = response::error(status);
    (void)co_await send(r, false, false, 1);
    co_await linger_close(true);
}

task<> session::linger_close(bool drain_input) {
    co_await _c.output().close(); // everything answered is sent, then FIN
    _unflushed = false;
    if (!drain_input || _o.limits.linger_timeout == duration::zero()) {
        co_return;
    }
    // Closing with unread bytes would send a reset, and the client could lose the response before reading it:
    // read and drop what it still sends, for a while.
    const time_point deadline = clock_type::now() + _o.limits.linger_timeout;
    while (!past(deadline)) {
        _c.input().set_timeout(remaining(deadline));
        buffer b;
        try {
            b = co_await _c.input().read();
        } catch (const timed_out&) {
            break;
        } catch (const std::system_error&) {
            break;
        }
        if (b.empty()) {
            break;
        }
    }
}

} // namespace percore::net::http::detail
