/// \file
/// \brief on_all_shards(): runs a function on every shard's `shard_state` at once and gathers the results (the
/// global commands: INFO, CONFIG, CLIENT LIST, KEYS...).
#pragma once

#include <type_traits>
#include <vector>

#include "apps/kv/shard_state.hh"
#include "runtime/task.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"
#include "shard/sharded.hh"

namespace percore::kv {

/// Runs `fn(shard_state&)` on every shard (with the keyspace's clock set to now). \return the results in shard
/// order. \shard_local
template <typename Fn>
auto on_all_shards(sharded<shard_state>& shards, Fn fn) -> task<std::vector<std::invoke_result_t<Fn&, shard_state&>>> {
    using R = std::invoke_result_t<Fn&, shard_state&>;
    std::vector<task<R>> parts;
    for (unsigned s = 0; s < shard_count(); ++s) {
        parts.push_back(shards.invoke_on(s, [fn](shard_state& st) mutable {
            st.db.set_now(now_ms());
            return fn(st);
        }));
    }
    co_return co_await when_all(std::move(parts));
}

} // namespace percore::kv
