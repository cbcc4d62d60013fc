/// \file
/// \brief The echo protocol for percore-load: a request is `size` bytes of a pattern unique to its connection,
/// sequence number and offset; the reply must be the same bytes.
///
/// The pattern makes every kind of echo fault visible at the first wrong byte: a corrupted byte, bytes lost or
/// repeated (everything after them shifts), replies swapped or crossed with another connection's (the seed
/// differs). A failed check names the message, the offset and both byte values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "apps/load/protocol.hh"

namespace percore::load {

/// Writes bytes [offset, offset + len) of the pattern of message `seq` on connection `connection_id`.
void fill_echo_pattern(std::uint64_t connection_id, std::uint64_t seq, std::size_t offset, char* dst,
                       std::size_t len) noexcept;

/// \throws std::invalid_argument if options.size is 0.
[[nodiscard]] std::unique_ptr<protocol> make_echo_protocol(const protocol_options& options);

} // namespace percore::load
