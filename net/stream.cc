#include "net/stream.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <system_error>

#include <fmt/format.h>

namespace percore::net {

namespace {
// Small writes are copied into chunks of this size; larger ones get a buffer of their own.
constexpr std::size_t staging_chunk = 16 * 1024;
} // namespace

// ---------------------------------------------------------------------------------------------------- input

task<buffer> input_stream::read_up_to(std::size_t n) {
    buffer b = co_await read();
    if (b.size() > n) {
        _current = b.share(n, b.size() - n);
        b.trim(n);
    }
    co_return b;
}

task<buffer> input_stream::read_exactly(std::size_t n) {
    if (n == 0) {
        co_return buffer();
    }
    buffer first = co_await read();
    if (first.size() >= n || first.empty()) {
        if (first.size() > n) {
            _current = first.share(n, first.size() - n);
            first.trim(n);
        }
        co_return first;
    }
    // The bytes span receive buffers: assemble them.
    buffer out(n);
    std::size_t have = first.size();
    std::memcpy(out.writable(), first.data(), have);
    first.reset();
    while (have < n) {
        buffer more = co_await read();
        if (more.empty()) {
            out.trim(have);
            break;
        }
        std::size_t take = std::min(more.size(), n - have);
        std::memcpy(out.writable() + have, more.data(), take);
        have += take;
        if (take < more.size()) {
            more.trim_front(take);
            _current = std::move(more);
        }
    }
    co_return out;
}

task<buffer> input_stream::read_until(std::string_view delimiter, std::size_t max) {
    if (delimiter.empty()) {
        throw std::invalid_argument("read_until: empty delimiter");
    }
    buffer first = co_await read();
    if (first.empty()) {
        co_return first;
    }
    std::size_t pos = first.view().find(delimiter);
    if (pos != std::string_view::npos && pos + delimiter.size() <= max) {
        std::size_t end = pos + delimiter.size();
        if (end < first.size()) {
            _current = first.share(end, first.size() - end);
            first.trim(end);
        }
        co_return first;
    }
    // Spans receive buffers (or is too long): accumulate, searching only where a new match can start.
    std::string acc(first.view());
    buffer last = std::move(first); // the receive that holds acc's tail
    while (acc.size() < max) {
        buffer more = co_await read();
        if (more.empty()) {
            co_return buffer::copy_of(acc); // EOF without a delimiter
        }
        const std::size_t old = acc.size();
        acc.append(more.view());
        pos = acc.find(delimiter, old >= delimiter.size() ? old - delimiter.size() + 1 : 0);
        if (pos == std::string::npos || pos + delimiter.size() > max) {
            last = std::move(more);
            if (pos == std::string::npos) {
                continue;
            }
            break;
        }
        const std::size_t end = pos + delimiter.size();
        if (const std::size_t excess = acc.size() - end; excess > 0) {
            _current = more.share(more.size() - excess, excess);
        }
        acc.resize(end);
        co_return buffer::copy_of(acc);
    }
    // Only the first `max` bytes are dropped: what follows them (the next line, maybe) stays readable. It lies
    // within `last`, since acc was shorter than max before `last` was appended.
    if (acc.size() > max) {
        const std::size_t excess = acc.size() - max;
        _current = last.share(last.size() - excess, excess);
    }
    throw std::length_error(fmt::format("no '{}' within {} bytes", delimiter == "\n" ? "\\n" : delimiter, max));
}

task<> input_stream::skip(std::size_t n) {
    while (n > 0) {
        buffer b = co_await read_up_to(n);
        if (b.empty()) {
            break;
        }
        n -= b.size();
    }
}

// ---------------------------------------------------------------------------------------------------- output

void output_stream::enqueue_staged() noexcept {
    _state->enqueue(_staging.share(_staged_begin, staged()));
    _staged_begin = _staged_end;
}

output_stream::write_awaiter output_stream::write(std::string_view bytes) {
    _state->throw_if_send_failed();
    if (bytes.size() >= staging_chunk / 2) {
        push_staged();
        _state->enqueue(buffer::copy_of(bytes));
        return limit_awaiter();
    }
    if (_staging.empty() || _staging.size() - _staged_end < bytes.size()) {
        push_staged();
        _staging = buffer(staging_chunk);
        _staged_begin = _staged_end = 0;
    }
    std::memcpy(_staging.writable() + _staged_end, bytes.data(), bytes.size());
    _staged_end += bytes.size();
    if (staged() >= staging_chunk / 2) {
        push_staged();
    }
    return limit_awaiter();
}

output_stream::write_awaiter output_stream::wait_sent() {
    push_staged();
    _state->start_send();
    return {_state, _state->written()};
}

task<> output_stream::close() {
    co_await wait_sent(); // a FIN before the last send completes would cut it off
    if (!_shut) {
        _shut = true;
        if (::shutdown(_state->fd(), SHUT_WR) != 0 && errno != ENOTCONN) {
            throw std::system_error(errno, std::system_category(), "shutdown");
        }
    }
}

} // namespace percore::net
