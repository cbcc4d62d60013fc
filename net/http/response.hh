/// \file
/// \brief `http::response`: what a handler returns: status, headers, and a body held in memory, shared from a
/// `net::buffer` (no copy), or streamed by a function (for bodies too large to hold).
///
/// \code
/// co_return http::response::text(200, "hello\n");                          // text/plain, Content-Length
/// http::response r(201);
/// r.set_content_type("application/json");
/// r.add_header("Location", "/users/7");
/// r.set_body(R"({"id":7})");
/// http::response big = http::response::stream(200, "application/octet-stream",
///     [](http::body_writer& w) -> task<> {                                 // written slice by slice, each
///         for (int i = 0; i < 1000; ++i) co_await w.write(slice(i));       // waiting while the client is slow
///     }, 1000 * slice_size);                                               // known length; omit: chunked
/// \endcode
///
/// The server adds Date, Server, Content-Length (or Transfer-Encoding: chunked) and Connection; for HEAD it
/// sends the headers of the GET response without the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/buffer.hh"
#include "net/stream.hh"
#include "runtime/task.hh"

namespace percore::net::http {

/// Writes a streamed body: as chunks (Transfer-Encoding: chunked) or raw bytes (a known Content-Length, or
/// HTTP/1.0 where the end of the body is the end of the connection). Each write goes out at once and waits
/// while more than `net::config::max_unsent` bytes are not yet sent (back-pressure from a slow client).
class body_writer {
public:
    enum class framing : std::uint8_t { chunked, length, until_close };
    body_writer(output_stream& out, framing f, std::uint64_t length) noexcept
        : _out(&out)
        , _framing(f)
        , _remaining(length) {}

    /// Sends a copy of `bytes`. \throws std::length_error past a declared length; std::system_error (socket)
    [[nodiscard]] task<> write(std::string_view bytes);
    /// Sends `b` without a copy.
    [[nodiscard]] task<> write(buffer b);
    /// Bytes still owed under a declared length.
    [[nodiscard]] std::uint64_t remaining() const noexcept { return _remaining; }
    /// Ends the body (the last chunk). Called by the server after the stream function returns.
    [[nodiscard]] task<> finish();

private:
    void check_length(std::size_t n);

    output_stream* _out;
    framing _framing;
    std::uint64_t _remaining;
};

using body_stream = std::function<task<>(body_writer&)>;

class response {
public:
    explicit response(int status = 200) noexcept
        : _status(status) {}

    /// `body` as text/plain; charset=utf-8.
    [[nodiscard]] static response text(int status, std::string body);
    /// A short text body naming the status ("404 Not Found\n"), as the server's own errors have.
    [[nodiscard]] static response error(int status);
    /// A body written by `fn` after the headers; `length` known: Content-Length, else chunked.
    [[nodiscard]] static response stream(int status, std::string_view content_type, body_stream fn,
                                         std::optional<std::uint64_t> length = std::nullopt);

    [[nodiscard]] int status() const noexcept { return _status; }
    void set_status(int s) noexcept { _status = s; }

    /// Content-Type ("" for none). Kept inline up to 63 bytes (no allocation for the usual types).
    void set_content_type(std::string_view type);
    [[nodiscard]] std::string_view content_type() const noexcept { return {_ctype, _ctype_len}; }

    /// Adds a header line. Date, Server, Content-Length, Transfer-Encoding and Connection are the server's.
    void add_header(std::string_view name, std::string_view value) {
        _headers.emplace_back(std::string(name), std::string(value));
    }
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return _headers; }

    void set_body(std::string body) noexcept {
        _body = std::move(body);
        _shared.reset();
    }
    /// A body shared without a copy (a cached file, a received buffer).
    void set_body(buffer shared) noexcept {
        _shared = std::move(shared);
        _body.clear();
    }
    void set_stream(body_stream fn, std::optional<std::uint64_t> length) {
        _stream = std::move(fn);
        _stream_length = length;
    }
    /// The body held in memory (string or shared buffer).
    [[nodiscard]] std::string_view body() const noexcept { return _shared.empty() ? _body : _shared.view(); }
    [[nodiscard]] bool is_stream() const noexcept { return static_cast<bool>(_stream); }
    [[nodiscard]] const std::optional<std::uint64_t>& stream_length() const noexcept { return _stream_length; }
    [[nodiscard]] body_stream& stream_fn() noexcept { return _stream; }
    [[nodiscard]] buffer& shared_body() noexcept { return _shared; }

    /// Closes the connection after this response.
    void set_close() noexcept { _close = true; }
    [[nodiscard]] bool close() const noexcept { return _close; }

private:
    int _status;
    bool _close = false;
    std::uint8_t _ctype_len = 0;
    char _ctype[63]{};
    std::vector<std::pair<std::string, std::string>> _headers;
    std::string _body;
    buffer _shared;
    body_stream _stream;
    std::optional<std::uint64_t> _stream_length;
};

} // namespace percore::net::http
