/// \file
/// \brief The HTTP/1.1 protocol for percore-load: each request is `GET <path>` on a kept-alive connection; the
/// reply must be a 200 with a Content-Length body (read whole; chunked replies are refused as unexpected).
///
/// With --depth > 1 the requests are pipelined (HTTP/1.1 answers them in order). Used by `scripts/bench http` for
/// the open-loop latency at a fixed offered load (wrk2 is not in Debian).
#pragma once

#include <memory>

#include "apps/load/protocol.hh"

namespace percore::load {

/// \throws std::invalid_argument if options.path does not start with '/'.
[[nodiscard]] std::unique_ptr<protocol> make_http_protocol(const protocol_options& options);

} // namespace percore::load
