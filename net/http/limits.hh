/// \file
/// \brief `http::limits`: every bound the HTTP server puts on a request and a connection, with its default.
///
/// \code
/// percore::net::http::limits l;
/// l.max_body_size = 64 * 1024 * 1024;      // uploads up to 64 MiB (413 past it)
/// l.header_timeout = std::chrono::seconds(5);
/// \endcode
///
/// A request past a size limit gets its status code (414, 431, 413; 400 for malformed bytes) with a short body,
/// then the connection is closed: the bytes that follow cannot be trusted to start a request.
#pragma once

#include <chrono>
#include <cstddef>

namespace percore::net::http {

struct limits {
    /// Bytes of the request line ("GET /path HTTP/1.1"): longer gets 414 URI Too Long.
    std::size_t max_request_line = 8 * 1024;
    /// Bytes of the header block after the request line (the whole head, trailers of a chunked body too):
    /// larger gets 431 Request Header Fields Too Large.
    std::size_t max_header_bytes = 16 * 1024;
    /// Header fields in one request: more gets 431.
    std::size_t max_headers = 100;
    /// Bytes of a request body (Content-Length or the sum of its chunks): larger gets 413 Content Too Large.
    std::size_t max_body_size = 1024 * 1024;
    /// Bytes of one chunk-size line of a chunked body (its extensions included): longer gets 400.
    std::size_t max_chunk_line = 4 * 1024;
    /// A kept-alive connection with no request started for this long is closed (zero: never).
    std::chrono::milliseconds idle_timeout{60'000};
    /// A request head must be complete this long after its first byte arrived, else 408 and close: a client
    /// sending a byte now and then (slowloris) cannot hold a connection (zero: never).
    std::chrono::milliseconds header_timeout{10'000};
    /// The longest wait for the next bytes of a request body (zero: never).
    std::chrono::milliseconds body_timeout{10'000};
    /// After an error response or `Connection: close`, how long the server reads and discards what the client
    /// still sends before it closes (closing with unread bytes would reset the connection, and the client could
    /// lose the response).
    std::chrono::milliseconds linger_timeout{2'000};
};

} // namespace percore::net::http
