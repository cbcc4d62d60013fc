/// \file
/// \brief The HTTP/1.x request-head parser and the chunked-body decoder: pure functions of bytes (no I/O), so
/// that the conformance tests and the fuzzer drive them directly.
///
/// \code
/// std::vector<http::header_field> fields;
/// http::request req;
/// http::head_result r = http::parse_request_head(bytes, limits, req, fields);
/// if (r.status == http::parse_status::complete) { /* r.consumed bytes were the head */ }
/// if (r.status == http::parse_status::error) { /* answer r.error (400, 414, 431, 501, 505) and close */ }
///
/// http::chunked_decoder dec(limits);
/// std::string body;
/// http::chunk_result c = dec.feed(more_bytes, body);     // consumes everything unless done or error
/// \endcode
///
/// The head parser follows RFC 9112: one request line (method SP target SP HTTP/1.x), header fields (token ":"
/// OWS value OWS), an empty line; empty lines before the request line are skipped, a bare LF ends a line as
/// CRLF does, obsolete line folding and whitespace before the colon are rejected (400).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/limits.hh"
#include "net/http/request.hh"

namespace percore::net::http {

enum class parse_status : std::uint8_t { complete, incomplete, error };

struct head_result {
    parse_status status = parse_status::incomplete;
    std::size_t consumed = 0; ///< bytes of the head (complete), empty lines skipped (incomplete)
    int error = 0;            ///< the status code to answer with (error)
};

/// Parses one request head at the start of `data`. On `complete`, `req` holds the request line and points at
/// `fields`; every view points into `data`. On `incomplete` nothing is kept: call again with more bytes (the
/// limits are checked on what is there, so an endless line is an error before its end arrives).
/// Header semantics (Content-Length, Transfer-Encoding, Host, Connection) are checked by `parse_framing`.
[[nodiscard]] head_result parse_request_head(std::string_view data, const limits& lim, request& req,
                                             std::vector<header_field>& fields);

/// How the body of a request is framed, from its headers.
struct framing {
    enum class body_kind : std::uint8_t { none, length, chunked } body = body_kind::none;
    std::uint64_t content_length = 0;
    bool keep_alive = true;
    bool expect_continue = false;
    int error = 0; ///< 400 (conflicting or bad framing), 413 (length over the limit), 417, 501; 0 when fine
};

/// Reads the framing headers of a parsed head: Content-Length (digits only; copies must agree), Transfer-Encoding
/// (only "chunked"; with a Content-Length too: 400), Host (exactly one in HTTP/1.1), Connection, Expect.
/// \note keep_alive is computed even when error is set (an error closes the connection anyway).
[[nodiscard]] framing parse_framing(const request& req, const limits& lim) noexcept;

struct chunk_result {
    parse_status status = parse_status::incomplete;
    std::size_t consumed = 0;
    int error = 0; ///< 400 (malformed), 413 (body over the limit), 431 (trailers over max_header_bytes)
};

/// Decodes a chunked body incrementally: data is appended to `out`, trailers are checked and dropped.
class chunked_decoder {
public:
    explicit chunked_decoder(const limits& lim) noexcept
        : _lim(&lim) {}
    /// Consumes `in` (all of it when incomplete; up to the end of the body when complete).
    [[nodiscard]] chunk_result feed(std::string_view in, std::string& out);
    [[nodiscard]] std::uint64_t body_size() const noexcept { return _total; }

private:
    enum class state : std::uint8_t { size, ext, size_lf, data, data_cr, data_lf, trailer, trailer_lf, done };
    chunk_result fail(int status, std::size_t consumed) noexcept {
        _state = state::done;
        _failed = true;
        return {parse_status::error, consumed, status};
    }

    const limits* _lim;
    state _state = state::size;
    bool _failed = false;
    bool _size_digits = false;
    bool _trailer_empty = true; ///< no byte yet on the current trailer line
    std::uint64_t _chunk = 0;   ///< bytes left in the current chunk (its size, while reading the size line)
    std::uint64_t _total = 0;
    std::size_t _line = 0;     ///< bytes of the current size line
    std::size_t _trailers = 0; ///< bytes of trailers so far
};

} // namespace percore::net::http
