/// \file
/// \brief What percore-load speaks: a `protocol` makes one `codec` per connection; a codec writes request number
/// `seq` into an output stream and reads and verifies its reply from an input stream. The driver knows nothing
/// else about the bytes, so a new protocol is a new file plus one line in protocol.cc (echo_protocol.cc,
/// resp_protocol.cc).
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
    /// With an error: the reply was well formed and read whole (a RESP `-ERR ...`, a value of the wrong size),
    /// so the stream is still in step and the connection goes on; otherwise the connection ends.
    bool in_step = false;
    /// Which kind of request this was (an index into protocol::kinds(); 0 when it has none).
    unsigned kind = 0;
    /// The reply was the protocol's "nothing there" (a RESP nil: a GET of a missing key).
    bool nil = false;
    [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

/// What every protocol is configured with.
struct protocol_options {
    /// Payload bytes per request (the echo message size; the value size for a key-value protocol).
    std::size_t size = 64;
    // ---- RESP (resp_options.hh parses and checks them)
    /// Commands and their weights, "set,get" or "set:1,get:9".
    std::string commands = "set,get";
    /// Keys are drawn uniformly from this many (`key:<12 digits>`).
    std::uint64_t keyspace = 1;
    /// Keys per MSET.
    unsigned mset_keys = 10;
    /// A request's keys share a {hash tag}, drawn per request: multi-key commands stay in one slot.
    bool hash_tag = false;
    /// Sent as AUTH when a connection opens (empty: none).
    std::string auth;
    // ---- HTTP
    /// The path each request GETs.
    std::string path = "/hello";
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
    /// stream is then out of step and the connection should end, unless `in_step` says otherwise). \throws what
    /// the stream throws (receive errors, percore::aborted)
    [[nodiscard]] virtual task<check_result> read_reply(net::input_stream& in, std::uint64_t seq) = 0;

    /// Runs once on a new connection before any request (RESP's AUTH). \return an error, or an empty string
    [[nodiscard]] virtual task<std::string> handshake(net::input_stream& in, net::output_stream& out);
};

class protocol {
public:
    virtual ~protocol() = default;
    /// A codec for connection number `connection_id` (unique over the run: it may seed the content).
    [[nodiscard]] virtual std::unique_ptr<codec> open(std::uint64_t connection_id) = 0;
    /// Names of the kinds of request counted apart in the summary (RESP: "set", "get", ...); none by default.
    [[nodiscard]] virtual std::vector<std::string> kinds() const { return {}; }
};

/// Bytes as text for an error message: printable ASCII as is, the rest as \xNN (a wrong server shows itself).
[[nodiscard]] std::string printable(std::string_view bytes);

/// The protocols percore-load knows, for the command line ("echo", "resp", "http").
[[nodiscard]] std::vector<std::string> protocol_names();

/// \throws std::invalid_argument for an unknown name or options the protocol cannot honour.
[[nodiscard]] std::unique_ptr<protocol> make_protocol(std::string_view name, const protocol_options& options);

} // namespace percore::load
