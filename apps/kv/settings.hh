/// \file
/// \brief The server's settings: command line flags, visible and (some) changeable through CONFIG GET/SET.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "apps/kv/resp/request_parser.hh"

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
    std::string dir = ".";       ///< data directory (persistence comes with the next milestone)
};

[[nodiscard]] const char* to_string(eviction_policy p) noexcept;

} // namespace percore::kv
