/// \file
/// \brief `request_parser`: incremental parser of Redis requests (RESP arrays of bulk strings, and inline
/// commands), with Redis's limits and error texts.
///
/// \code
/// resp::request_parser p;
/// p.feed(co_await in.read());
/// std::vector<std::string_view> argv;
/// while (p.next(argv) == resp::parse_status::command) {
///     run(argv);                     // argv points into received bytes: valid until release_consumed()
/// }
/// if (p.failed()) { /* reply "-ERR " + p.error(), close */ }
/// p.release_consumed();
/// \endcode
///
/// Arguments are slices of the receive buffers, never copies, while a command lies within one of them (the
/// usual case). A command that spans receives is gathered into a buffer of its own: its start is copied out of
/// the receive that holds it, and each later receive gives it exactly the bytes it still lacks (its payload, or
/// up to the end of its line); the parser keeps its place (argument count, bulk length, arguments so far), so a
/// large value arriving in many pieces is copied once, into room reserved for all of it, and never rescanned.
/// The commands after it in that receive are sliced from it again. Inline arguments are split into storage of
/// the parser's own (quotes and escapes rewrite them).
///
/// Differences from Redis, on purpose: a request may have at most `parse_limits::max_args` arguments (Redis:
/// INT_MAX); a NUL byte is an ordinary byte (Redis's C-string scan of a header or an inline line stops at it, so
/// the connection waits until 64 KiB more arrive); the query buffer limit counts the bytes of the one incomplete
/// request (Redis: the bytes read and not yet parsed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "net/buffer.hh"

namespace percore::kv::resp {

/// Redis's request limits (redis.conf names in brackets).
struct parse_limits {
    /// An inline command line, or the `*N` / `$N` header line of a multibulk request.
    std::size_t max_inline = 64 * 1024;
    /// One argument [proto-max-bulk-len].
    std::size_t max_bulk = 512 * 1024 * 1024;
    /// Arguments in one request (Redis: INT_MAX). Each costs about 48 bytes of references in the parser and the
    /// session, for 6 bytes of input at least: 1 Mi bounds that at 48 MiB per request.
    std::size_t max_args = 1024 * 1024;
    /// Bytes buffered for one incomplete request; past it the connection is closed without a reply, as Redis
    /// does [client-query-buffer-limit].
    std::size_t max_query_buffer = 1024 * 1024 * 1024;
};

enum class parse_status : std::uint8_t {
    command,   ///< `argv` holds a complete command
    need_more, ///< everything fed so far was parsed; feed more
    error,     ///< protocol error: reply with error() (unless close_silently()) and close
};

class request_parser {
public:
    explicit request_parser(parse_limits limits = {}) noexcept
        : _limits(limits) {}

    /// Takes the next received bytes (an empty buffer changes nothing). \pre next() returned need_more since the
    /// last feed (the previous receive was parsed to its end)
    void feed(net::buffer chunk);
    /// Parses the next command into `argv` (cleared first). Empty requests are skipped. Arguments stay valid
    /// until release_consumed(), across later calls of next() (but not of feed() without a release).
    parse_status next(std::vector<std::string_view>& argv);
    /// After the commands next() returned are done with: lets go of the bytes their arguments pointed into (at
    /// any time: a command being gathered keeps its place).
    void release_consumed() noexcept;

    /// Before authentication Redis accepts only short requests (10 arguments of 16 KiB).
    void set_authenticated(bool yes) noexcept { _authenticated = yes; }
    /// New limits (CONFIG SET), from the next request on.
    void set_limits(parse_limits limits) noexcept { _limits = limits; }

    [[nodiscard]] bool failed() const noexcept { return !_error.empty(); }
    /// The error reply's text without the leading '-' (e.g. "ERR Protocol error: invalid bulk length").
    [[nodiscard]] const std::string& error() const noexcept { return _error; }
    /// The query buffer limit was passed: Redis closes without a reply.
    [[nodiscard]] bool close_silently() const noexcept { return _silent; }
    /// Bytes gathered for a command that spans receives (what the query buffer limit applies to).
    [[nodiscard]] std::size_t buffered() const noexcept { return _pending.size(); }

private:
    struct arg_ref {
        std::size_t offset;
        std::size_t length;
    };
    /// Parses from `pos` in `data` (the receive, or the gathered command); advances `pos` over what it used.
    parse_status parse(std::string_view data, std::size_t& pos, std::vector<std::string_view>& argv);
    /// The fast path of parse() for a multibulk request wholly in `data` with plain numbers (no error possible):
    /// \return false, with `pos` unchanged, for anything else (incomplete, unusual or wrong), which parse() then
    /// takes the general way.
    bool parse_whole(std::string_view data, std::size_t& pos, std::vector<std::string_view>& argv);
    parse_status parse_inline(std::string_view data, std::size_t& pos, std::vector<std::string_view>& argv);
    /// Continues the command in `_pending` with bytes of the receive.
    parse_status gather(std::vector<std::string_view>& argv);
    /// Copies the incomplete command at the end of the receive into `_pending`.
    void start_gathering();
    /// Bytes of `rest` (the receive's unparsed bytes) the gathered command can use next.
    [[nodiscard]] std::size_t wanted(std::string_view rest) const noexcept;
    /// Room for a large value being gathered, all at once.
    void reserve_for_bulk();
    /// The receive is parsed to its end: hold it if commands point into it, or give it back.
    void let_go_of_chunk() noexcept;
    parse_status fail(std::string message);

    parse_limits _limits;
    bool _authenticated = true;
    bool _silent = false;
    std::string _error;

    net::buffer _chunk;             // the receive being parsed
    std::size_t _chunk_pos = 0;     // parsed (or gathered) up to here
    bool _chunk_used = false;       // commands returned since the last release point into _chunk
    std::vector<net::buffer> _held; // earlier receives that such commands point into
    // The command that spans receives, from its first byte; empty: none. A vector, not a string: moving it
    // into _gathered must keep its bytes where the arguments point (no small-string buffer).
    std::vector<char> _pending;
    std::vector<std::vector<char>> _gathered; // gathered commands returned since the last release
    std::deque<std::string> _owned;           // inline arguments

    // The command in progress. While gathering, offsets are into _pending; otherwise into _chunk.
    std::size_t _pos = 0;       // in _pending
    std::size_t _cmd_start = 0; // where the command began
    std::int64_t _argc = 0;     // arguments of the multibulk in progress; 0: none in progress
    std::int64_t _bulk = -1;    // length of the bulk whose payload is next; -1: its header is next
    std::vector<arg_ref> _args;
};

} // namespace percore::kv::resp
