/// \file
/// \brief The server's settings: command line flags, visible and (some) changeable through CONFIG GET/SET.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "apps/kv/resp/request_parser.hh"
#include "storage/append_log.hh"

namespace percore::kv {

enum class eviction_policy : std::uint8_t { noeviction, allkeys_lru };

struct settings {
    std::string address = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string requirepass;        ///< empty: no password
    std::size_t maxclients = 10000; ///< over all shards; each shard admits an equal share
    std::uint64_t maxmemory = 0;    ///< bytes over all shards; each shard keeps its share (0: no limit)
    eviction_policy policy = eviction_policy::noeviction;
    unsigned maxmemory_samples = 5; ///< keys sampled per eviction (allkeys-lru)
    resp::parse_limits limits{};
    std::uint64_t timeout_s = 0; ///< close clients idle this long (0: never)
    unsigned hz = 10;            ///< active expiry cycles per second
    std::string dir = ".";       ///< data directory: the lock file and each shard's log (`shard-N/`)
    bool appendonly = false;     ///< each shard logs its writes and replays its log at start
    storage::durability appendfsync = storage::durability::everysec; ///< Redis's appendfsync: always, everysec, no
    bool repair_log = false; ///< recovery keeps the valid prefix of a log damaged before its tail
    // Snapshots (apps/kv/snapshot/): the automatic log rewrite, as Redis's auto-aof-rewrite-*.
    std::uint64_t log_rewrite_min_size = std::uint64_t{64} << 20; ///< a shard's log is not rewritten below this
    unsigned log_rewrite_percentage = 100; ///< growth over the last rewrite's size that triggers one (0: never)
    std::size_t snapshot_buffer = std::size_t{4} << 20; ///< records a snapshot may hold unwritten (its memory bound)
};

[[nodiscard]] const char* to_string(eviction_policy p) noexcept;
[[nodiscard]] const char* to_string(storage::durability d) noexcept;
/// "always", "everysec" or "no" (any case). \return false for anything else
[[nodiscard]] bool parse_durability(std::string_view s, storage::durability& out) noexcept;

} // namespace percore::kv
