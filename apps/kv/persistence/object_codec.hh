/// \file
/// \brief A key's value as the commands that rebuild it, in the plain-command form of record_codec.hh: what a
/// snapshot writes, and what a multi-shard write logs for the keys it wrote back.
///
/// \code
/// std::string rec;
/// encode_key(rec, "k", *db.find("k"), db.expiry("k"));   // SET k v PXAT t, or DEL k + RPUSH k ... + PEXPIREAT
/// \endcode
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apps/kv/object.hh"

namespace percore::kv::persistence {

/// Elements per RPUSH, SADD, HSET or ZADD command (a huge aggregate becomes several bounded commands).
inline constexpr std::size_t elements_per_command = 256;

/// Appends the commands that make `key` hold `value` (and expire at `expiry_ms`, absolute) whatever it held
/// before: `SET key v [PXAT t]` for a string; for an aggregate `DEL key`, then RPUSH/SADD/HSET/ZADD in chunks,
/// then `PEXPIREAT key t`. \any_shard
void encode_key(std::string& out, std::string_view key, const object& value, std::optional<std::int64_t> expiry_ms);

/// A score as ZADD reads it back exactly (shortest round-trip form, `inf`, `-inf`).
[[nodiscard]] std::string score_text(double score);

} // namespace percore::kv::persistence
