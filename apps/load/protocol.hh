/// \file
/// \brief What percore-load speaks: a `protocol` makes one `codec` per connection; a codec writes request number
/// `seq` into an output stream and reads and verifies its reply from an input stream. The driver knows nothing
/// else about the bytes, so a new protocol (RESP for the KV server) is a new file plus one line in protocol.cc.
///
/// \code
/// auto proto = load::make_protocol("echo", {.size = 64});
/// auto codec = proto->open(connection_id);
/// for (std::uint64_t seq = 0; seq < depth; ++seq) {
///     co_await codec->write_request(conn.output(), seq);
/// }
/// co_await conn.output().flush();
/// for (std::uint64_t seq = 0; seq < depth; ++seq) {
///     load::check_result r = co_await codec->read_reply(conn.input(), seq);   // in order
///     if (!r.ok()) { report(r.error); }
/// }
/// \endcode
///
/// \shard_local A protocol and its codecs live on one shard (every shard makes its own).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/stream.hh"
#include "runtime/task.hh"

namespace percore::load {

/// The outcome of reading one reply: empty `error` when it is the reply expected.
struct check_result {
    std::string error;
    [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

/// What every protocol is configured with.
struct protocol_options {
    /// Payload bytes per request (the echo message size; the value size for a key-value protocol).
    std::size_t size = 64;
};

/// One connection's request writer and reply checker. Requests are numbered 0, 1, 2, ... per connection; replies
/// are read in the order the requests were written.
class codec {
public:
    virtual ~codec() = default;

    /// Queues request `seq` on `out` (no flush). \return the awaiter of its last write: awaiting it applies the
    /// stream's unsent-bytes limit to everything queued and raises std::system_error if a send failed.
    [[nodiscard]] virtual net::output_stream::write_awaiter write_request(net::output_stream& out,
                                                                          std::uint64_t seq) = 0;

    /// Reads the reply to request `seq` and checks it. A wrong reply or EOF is a failed check_result (the
    /// stream is then out of step and the connection should end). \throws what the stream throws (receive
    /// errors, percore::aborted)
    [[nodiscard]] virtual task<check_result> read_reply(net::input_stream& in, std::uint64_t seq) = 0;
};

class protocol {
public:
    virtual ~protocol() = default;
    /// A codec for connection number `connection_id` (unique over the run: it may seed the content).
    [[nodiscard]] virtual std::unique_ptr<codec> open(std::uint64_t connection_id) = 0;
};

/// The protocols percore-load knows, for the command line ("echo", ...).
[[nodiscard]] std::vector<std::string> protocol_names();

/// \throws std::invalid_argument for an unknown name or options the protocol cannot honour.
[[nodiscard]] std::unique_ptr<protocol> make_protocol(std::string_view name, const protocol_options& options);

} // namespace percore::load
