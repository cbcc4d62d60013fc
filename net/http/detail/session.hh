/// \file
/// \brief `session`: one HTTP connection's loop: read a head, read its body, run the handler, queue the
/// response; flush when it has to wait for the client.
///
/// States (who moves it, what it holds):
///   idle     waiting for the first byte of a request (idle_timeout); stop() may close the connection here
///   head     a request started (header_timeout from its first byte: 408 past it)
///   body     reading a Content-Length or chunked body into `_body` (body_timeout per read)
///   handling the handler runs; the request's views point into `_win` (and `_body`), which nothing touches
///            until the response is queued; bytes read past the body wait in `_next`
///   closing  error response or Connection: close sent, FIN, input drained for linger_timeout
/// The session lives in the connection's task frame; `shard_context` lists it while it lives.
#pragma once

#include <string>
#include <vector>

#include "net/buffer.hh"
#include "net/connection.hh"
#include "net/http/detail/head_buffer.hh"
#include "net/http/detail/recv_window.hh"
#include "net/http/request.hh"
#include "net/http/request_parser.hh"
#include "net/http/response.hh"
#include "net/http/router.hh"
#include "net/http/server.hh"
#include "runtime/task.hh"

namespace percore::net::http::detail {

class session;

/// What every connection of one server on one shard shares.
struct shard_context {
    shard_context(router r, server_options o)
        : routes(std::move(r))
        , options(std::move(o)) {}
    /// Closes the idle connections; the others close after their current response.
    void stop() noexcept;

    router routes;
    server_options options;
    bool stopping = false;
    session* sessions = nullptr; ///< intrusive list of live sessions
};

class session {
public:
    session(connection& c, const router& r, const server_options& o, shard_context* ctx) noexcept;
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session();

    [[nodiscard]] task<> run();
    /// From shard_context::stop(): closes the connection when idle, else marks it to close after the response.
    void stop() noexcept;

private:
    friend struct shard_context;
    enum class read_outcome : std::uint8_t { data, eof, timed_out };

    task<read_outcome> read_more(duration timeout, buffer& into);
    task<bool> read_body(const framing& f, std::size_t head_size, std::size_t& used);
    task<bool> send(response& resp, bool keep_alive, bool head_only, int version_minor);
    /// Writes the status line and headers (and a small body) into _head. \return whether the connection stays
    bool build_head(response& resp, bool keep_alive, bool head_only, int version_minor, body_writer::framing& framing);
    task<> reject(int status);
    task<> linger_close(bool drain_input);
    [[nodiscard]] bool flush_needed() const noexcept { return _unflushed; }

    connection& _c;
    const router& _router;
    const server_options& _o;
    shard_context* _ctx;
    session* _prev = nullptr;
    session* _next_session = nullptr;
    bool _idle = false;
    bool _closed_by_stop = false;
    bool _unflushed = false;

    recv_window _win;
    buffer _next; ///< bytes read past the current body: the start of the next request
    request _req;
    std::vector<header_field> _fields;
    std::string _body;
    head_buffer _head; ///< response head scratch (reused: no allocation once it has grown)
    std::string _allow;
};

} // namespace percore::net::http::detail
