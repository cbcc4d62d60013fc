/// \file
/// \brief `resp_reader`: reads RESP reply pieces (a line, a payload of known length) from an input stream in
/// place, copying only a line that spans two receive buffers.
///
/// One reader per reply: it takes the stream's bytes as it needs them and puts back what it did not use when it
/// is destroyed (the next reply's bytes). Pipelined replies mostly sit in one receive buffer, so `try_line` finds
/// them without suspending.
///
/// \code
/// resp_reader rd(in, scratch);
/// std::string_view head;
/// if (!rd.try_line(head)) {
///     head = co_await rd.line();                  // throws reply_error at EOF or for a line without CRLF
/// }
/// while (left > 0) {                              // a bulk payload, checked piece by piece
///     std::string_view piece = co_await rd.some(left);
///     check(piece);
///     left -= piece.size();
/// }
/// co_await rd.crlf();
/// \endcode
///
/// \shard_local Like the stream it reads.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/buffer.hh"
#include "net/stream.hh"
#include "runtime/task.hh"

namespace percore::load::resp {

/// The reply cannot be read further: EOF, a malformed line, a line too long. The stream is out of step.
class reply_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class resp_reader {
public:
    /// Lines longer than this are not RESP headers or error messages we expect.
    static constexpr std::size_t max_line = 4096;

    /// `scratch` holds a line that spans receive buffers (kept by the caller to reuse its capacity).
    resp_reader(net::input_stream& in, std::string& scratch) noexcept
        : _in(in)
        , _scratch(scratch) {}
    resp_reader(const resp_reader&) = delete;
    resp_reader& operator=(const resp_reader&) = delete;
    /// Puts the bytes not consumed back in front of the stream.
    ~resp_reader() {
        if (!_buf.empty()) {
            _in.unread(std::move(_buf));
        }
    }

    /// The next line without its CRLF, if it is whole in the bytes at hand (no wait). Valid until the next call.
    [[nodiscard]] bool try_line(std::string_view& line);
    /// The next line without its CRLF, reading as needed. Valid until the next call. \throws reply_error
    [[nodiscard]] task<std::string_view> line();
    /// Exactly `n` bytes if they are all at hand (no wait). Valid until the next call.
    [[nodiscard]] bool try_take(std::size_t n, std::string_view& bytes) noexcept {
        if (_buf.size() < n) {
            return false;
        }
        bytes = _buf.view().substr(0, n);
        _buf.trim_front(n);
        return true;
    }
    /// Between 1 and `max` bytes of payload, reading as needed. Valid until the next call. \throws reply_error
    [[nodiscard]] task<std::string_view> some(std::size_t max);
    /// Consumes the CRLF that ends a payload. \throws reply_error
    [[nodiscard]] task<> crlf();
    /// Up to `n` bytes at hand, for an error message (nothing is consumed).
    [[nodiscard]] std::string_view peek(std::size_t n) const noexcept { return _buf.view().substr(0, n); }

private:
    task<> fill(); // a new receive buffer, when the current one is used up; throws reply_error at EOF

    net::input_stream& _in;
    std::string& _scratch;
    net::buffer _buf; // bytes at hand, not yet consumed
};

} // namespace percore::load::resp
