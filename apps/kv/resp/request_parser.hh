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
/// usual case). A command that spans receives is gathered into one contiguous buffer, once: the parser keeps its
/// place (argument count, bulk length, arguments so far) across receives, so a large value arriving in many
/// pieces is copied once and never rescanned. Inline arguments with quotes or escapes are rewritten into storage
/// of the parser's own.
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
    /// Arguments in one request (Redis: INT_MAX; 1 Mi here keeps a header from reserving absurd memory).
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

    /// Appends received bytes. \pre the previous chunk was parsed to need_more
    void feed(net::buffer chunk);
    /// Parses the next command into `argv` (cleared first). Empty requests are skipped.
    parse_status next(std::vector<std::string_view>& argv);
    /// After the commands next() returned are done with: lets go of the bytes their arguments pointed into.
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
    /// Bytes held for the command being received.
    [[nodiscard]] std::size_t buffered() const noexcept { return _pending.size() - _cmd_start; }

private:
    struct arg_ref {
        std::size_t offset;
        std::size_t length;
    };
    parse_status parse(std::string_view data, std::vector<std::string_view>& argv);
    parse_status parse_inline(std::string_view data, std::vector<std::string_view>& argv);
    parse_status fail(std::string message);
    void to_pending(std::string_view data);
    [[nodiscard]] std::string_view current() const noexcept;

    parse_limits _limits;
    bool _authenticated = true;
    bool _silent = false;
    std::string _error;

    // Chunk mode (_pending empty): parsing `_chunk` in place. Pending mode: parsing `_pending`, a copy of an
    // incomplete command and of what arrived after it.
    net::buffer _chunk;
    std::vector<net::buffer> _held; // chunks that returned commands point into
    std::string _pending;
    bool _in_pending = false;

    // Position and the command in progress (offsets into the current data).
    std::size_t _pos = 0;
    std::size_t _cmd_start = 0;
    std::int64_t _argc = 0;  // arguments of the multibulk in progress; 0: none in progress
    std::int64_t _bulk = -1; // length of the bulk whose payload is next; -1: its header is next
    std::vector<arg_ref> _args;
    std::deque<std::string> _owned; // inline arguments that were unquoted or unescaped
};

} // namespace percore::kv::resp
