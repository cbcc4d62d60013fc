/// \file
/// \brief Which shard the calling code runs on, and how many there are.
///
/// \code
/// if (percore::this_shard_id() == 0) { ... }            // 0 outside an engine (a lone reactor is shard 0)
/// unsigned owner = hash(key) % percore::shard_count();
/// \endcode
#pragma once

namespace percore {

namespace detail {
inline constinit thread_local unsigned tl_shard_id = 0;
inline constinit unsigned g_shard_count = 1;
/// Shards of the last engine this process ran (0: none yet): after it returns, those shard ids still name shards
/// that existed, which a message for them can no longer reach, rather than shards that never did.
inline constinit unsigned g_engine_shards = 0;
} // namespace detail

/// \any_shard
[[nodiscard]] inline unsigned this_shard_id() noexcept {
    return detail::tl_shard_id;
}
/// Shards of the running engine (1 for a lone reactor). \any_shard
[[nodiscard]] inline unsigned shard_count() noexcept {
    return detail::g_shard_count;
}

} // namespace percore
