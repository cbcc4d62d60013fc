/// \file
/// \brief Process-wide network settings: the receive-buffer ring every shard creates, and per-connection limits.
///
/// \code
/// percore::net::config c;
/// c.recv_buffers = 2048;              // more connections receiving at once
/// percore::net::set_config(c);        // before the shards start (each shard reads it once)
/// \endcode
#pragma once

#include <chrono>
#include <cstddef>

namespace percore::net {

struct config {
    /// Buffers in each shard's provided-buffer ring (a power of two, at most 32768). Connections share them: a
    /// buffer is held only from the moment the kernel fills it until the reader drops the data.
    unsigned recv_buffers = 512;
    /// Bytes per receive buffer (a multiple of 64): the most one receive completion delivers.
    unsigned recv_buffer_size = 16384;
    /// Received bytes a connection may hold unread before it stops receiving (its peer then sees a full window).
    std::size_t max_unread = 256 * 1024;
    /// Ring buffers a connection may hold unread before it stops receiving: the scarce resource when a peer
    /// pipelines small messages (each takes a whole buffer). 0: recv_buffers / 16, at least 2.
    unsigned max_unread_buffers = 0;
    /// Bytes written and not yet sent before `output_stream::write` waits for the socket.
    std::size_t max_unsent = 1024 * 1024;
    /// A connection dropped while a send is in flight lets it finish for this long, then cancels it.
    std::chrono::milliseconds close_linger{5000};
};

/// Sets the configuration shards use from now on (shards that already made their ring keep theirs). Checks the
/// values. \throws std::invalid_argument naming the bad value. \any_shard before the engine starts
void set_config(const config& c);
[[nodiscard]] const config& current_config() noexcept;

} // namespace percore::net
