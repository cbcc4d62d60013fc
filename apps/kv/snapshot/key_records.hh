/// \file
/// \brief `write_key_records`: the commands that recreate one key (SET/APPEND, RPUSH, SADD, HSET, ZADD, then
/// PEXPIREAT), each encoded as a log record (a RESP array of its arguments), a large value split over several.
///
/// \code
/// std::deque<std::string> out;
/// write_key_records("k", object("v"), 0, out);           // out: ["*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"]
/// write_key_records("l", list, 1767225600000, out);      // RPUSH l ... (several), PEXPIREAT l 1767225600000
/// \endcode
///
/// Why plain commands: a snapshot is replayed by the same code as the log that follows it, so it needs no format
/// of its own, and a human can read it with the same tools. Why chunks: a record is bounded (the log refuses
/// records past its max_record_size), and the snapshot writer's memory is counted in records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "apps/kv/object.hh"

namespace percore::kv {

/// Default bytes of arguments per record: large enough that a record's framing is noise, small enough that a
/// write hook serializing a key mid-command does not hold the shard for long per chunk.
inline constexpr std::size_t snapshot_chunk_bytes = std::size_t{64} << 10;

/// Appends to `out` the records that recreate `key` with `value` and, unless `expiry_ms` is 0, its absolute
/// expiry. Each record holds up to about `chunk_bytes` of arguments (at least one element: a single element longer
/// than that is one record of its own). \return the bytes appended
std::size_t write_key_records(std::string_view key, const object& value, std::int64_t expiry_ms,
                              std::deque<std::string>& out, std::size_t chunk_bytes = snapshot_chunk_bytes);

} // namespace percore::kv
