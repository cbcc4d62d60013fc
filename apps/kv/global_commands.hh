/// \file
/// \brief Commands that cover every shard: DBSIZE FLUSHDB FLUSHALL KEYS SCAN RANDOMKEY, INFO (info.hh) and CONFIG
/// (config_command.hh).
#pragma once

#include "apps/kv/command.hh"
#include "runtime/task.hh"

namespace percore::kv {

class session;
class shard_lock_set;

/// Runs the global command `spec` for `s`, writing its reply to `out`. `held`: EXEC already holds every shard.
task<> run_global(session& s, const command_spec& spec, argv_t argv, resp::reply_writer& out, shard_lock_set* held);

/// Redis's memory values: "100", "1k" (1000), "1kb" (1024), "2mb", "1gb"... \return false if not one.
[[nodiscard]] bool parse_memory(std::string_view text, std::uint64_t& bytes) noexcept;

} // namespace percore::kv
