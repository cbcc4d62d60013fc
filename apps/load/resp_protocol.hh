/// \file
/// \brief The RESP protocol for percore-load: Redis commands (PING, SET, GET, INCR, MSET, DEL) over the keys and
/// values of resp_workload.hh, every reply checked.
///
/// A reply is right when it is what Redis answers that command: +OK to SET and MSET, +PONG to PING, an integer
/// to INCR, :0 or :1 to DEL, and to GET either nil or the key's value (its size and pattern; values depend on
/// the key only, so whatever wrote it wrote the same bytes). A server error (`-ERR ...`) or a GET of a wrong value
/// is read whole and counted as an error; the connection goes on. Anything else (a reply of another type,
/// broken framing, EOF) leaves the stream out of step and ends the connection. Requests are built in a
/// per-connection scratch area and copied once into the stream; values above 8 KiB are written into buffers of
/// their own, sent without a copy. Replies are checked in the receive buffers (resp_reader.hh).
#pragma once

#include <memory>

#include "apps/load/protocol.hh"

namespace percore::load {

/// \throws std::invalid_argument for options the workload rejects (resp_workload.hh).
[[nodiscard]] std::unique_ptr<protocol> make_resp_protocol(const protocol_options& options);

} // namespace percore::load
