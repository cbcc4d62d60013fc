/// \file
/// \brief The command table: what each command is (arity, flags, key positions, documentation) and where it runs.
///
/// Three kinds of commands:
/// - `keyed`: runs on the shard that owns its keys, as one synchronous function (`fn`) against that shard's
///   keyspace. Commands without keys (PING, ECHO) run on the connection's shard. A keyed command whose keys live
///   on several shards runs through the cross-shard coordinator instead (see cross_shard.hh).
/// - `session`: changes or reads the connection's state (HELLO, AUTH, CLIENT, MULTI...): runs in the session.
/// - `global`: covers every shard (DBSIZE, FLUSHALL, KEYS, SCAN, INFO, CONFIG...): the session coordinates it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kv/resp/reply_writer.hh"

namespace percore::kv {

class keyspace;
class shard_state;

using argv_t = std::span<const std::string_view>;

/// What a keyed command sees while it runs on its shard.
struct exec_context {
    keyspace& db;
    resp::reply_writer& out;
    shard_state& shard;
};

using command_fn = void (*)(exec_context&, argv_t);

enum cmd_flag : std::uint32_t {
    cmd_write = 1U << 0,    ///< may change data
    cmd_readonly = 1U << 1, ///< never changes data
    cmd_denyoom = 1U << 2,  ///< may grow memory: refused (noeviction) or preceded by eviction past maxmemory
    cmd_admin = 1U << 3,
    cmd_fast = 1U << 4,    ///< O(1) or O(log n)
    cmd_noauth = 1U << 5,  ///< allowed before AUTH
    cmd_nomulti = 1U << 6, ///< not queued by MULTI (runs at once: EXEC, DISCARD, MULTI, WATCH, QUIT, RESET)
    cmd_loading = 1U << 7,
    cmd_stale = 1U << 8,
    cmd_random = 1U << 9, ///< nondeterministic output
    cmd_pubsub = 1U << 10,
    cmd_noscript = 1U << 11,
    cmd_sort_for_script = 1U << 12,
    cmd_allow_busy = 1U << 13,
    cmd_no_async_loading = 1U << 14,
    cmd_may_replicate = 1U << 15,
};

enum class cmd_kind : std::uint8_t { keyed, session, global };

struct command_spec {
    std::string_view name; ///< lower case
    int arity;             ///< Redis's: N exactly, -N at least N (the name counts)
    std::uint32_t flags;
    int first_key; ///< 0: no keys
    int last_key;  ///< negative: counted from the end (-1: the last argument)
    int key_step;
    cmd_kind kind;
    command_fn fn;          ///< keyed commands
    std::string_view group; ///< COMMAND DOCS group: "string", "generic", "list", ...
    std::string_view summary;
    std::string_view since;
    std::string_view complexity;
    std::string_view acl_categories; ///< space separated, without '@'
};

/// The command named `name` (any case), or null.
[[nodiscard]] const command_spec* find_command(std::string_view name) noexcept;
/// Every command (COMMAND, COMMAND COUNT).
[[nodiscard]] std::span<const command_spec* const> all_commands() noexcept;
/// `spec`'s position in all_commands() (its size for a spec not in the table): per-command counters index by it.
[[nodiscard]] std::size_t command_index(const command_spec& spec) noexcept;

/// Positions of `spec`'s keys in `argv` (which has passed the arity check).
void key_positions(const command_spec& spec, argv_t argv, std::vector<std::size_t>& out);

/// Redis's "wrong number of arguments" error for `name`.
[[nodiscard]] std::string arity_error(std::string_view name);
/// Whether argv's size satisfies `arity`.
[[nodiscard]] constexpr bool arity_ok(int arity, std::size_t argc) noexcept {
    return arity > 0 ? argc == static_cast<std::size_t>(arity) : argc >= static_cast<std::size_t>(-arity);
}

// Redis's error texts, shared by the commands.
inline constexpr std::string_view err_wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view err_syntax = "ERR syntax error";
inline constexpr std::string_view err_not_integer = "ERR value is not an integer or out of range";
inline constexpr std::string_view err_not_float = "ERR value is not a valid float";
inline constexpr std::string_view err_overflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view err_no_such_key = "ERR no such key";
inline constexpr std::string_view err_index_range = "ERR index out of range";
inline constexpr std::string_view err_oom = "OOM command not allowed when used memory > 'maxmemory'.";

} // namespace percore::kv
