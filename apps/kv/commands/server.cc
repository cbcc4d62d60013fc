// Commands without keys that run on the connection's shard (PING, ECHO), and the table entries of the session
// and global commands the session implements (see session.cc).
#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

void ping_cmd(exec_context& ctx, argv_t argv) {
    if (argv.size() > 2) {
        ctx.out.error(arity_error("ping"));
    } else if (argv.size() == 2) {
        ctx.out.bulk(argv[1]);
    } else {
        ctx.out.simple("PONG");
    }
}

void echo_cmd(exec_context& ctx, argv_t argv) {
    ctx.out.bulk(argv[1]);
}

constexpr auto keyless = cmd_kind::keyed;
constexpr auto session = cmd_kind::session;
constexpr auto global = cmd_kind::global;

const command_spec specs[] = {
    {"ping", -1, cmd_fast | cmd_stale | cmd_loading, 0, 0, 0, keyless, &ping_cmd, "connection",
     "Returns the server's liveliness response.", "1.0.0", "O(1)", "fast connection"},
    {"echo", 2, cmd_fast | cmd_stale | cmd_loading, 0, 0, 0, keyless, &echo_cmd, "connection",
     "Returns the given string.", "1.0.0", "O(1)", "fast connection"},
    {"hello", -1, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_noscript, 0, 0, 0, session, nullptr,
     "connection", "Handshakes with the Redis server.", "6.0.0", "O(1)", "fast connection"},
    {"auth", -2, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_noscript, 0, 0, 0, session, nullptr,
     "connection", "Authenticates the connection.", "1.0.0",
     "O(N) where N is the number of passwords defined for the user", "fast connection"},
    {"select", 2, cmd_fast | cmd_stale | cmd_loading, 0, 0, 0, session, nullptr, "connection",
     "Changes the selected database.", "1.0.0", "O(1)", "fast connection"},
    {"quit", -1, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_allow_busy | cmd_noscript | cmd_nomulti, 0, 0, 0,
     session, nullptr, "connection", "Closes the connection.", "1.0.0", "O(1)", "fast connection"},
    {"reset", 1, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_noscript | cmd_nomulti, 0, 0, 0, session,
     nullptr, "connection", "Resets the connection.", "6.2.0", "O(1)", "fast connection"},
    {"client", -2, cmd_stale | cmd_loading, 0, 0, 0, session, nullptr, "connection",
     "A container for client connection commands.", "2.4.0", "Depends on subcommand.", "slow"},
    {"multi", 1, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy | cmd_nomulti, 0, 0, 0, session,
     nullptr, "transactions", "Starts a transaction.", "1.2.0", "O(1)", "fast transaction"},
    {"exec", 1, cmd_loading | cmd_stale | cmd_noscript | cmd_nomulti, 0, 0, 0, session, nullptr, "transactions",
     "Executes all commands in a transaction.", "1.2.0", "Depends on commands in the transaction", "slow transaction"},
    {"discard", 1, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy | cmd_nomulti, 0, 0, 0, session,
     nullptr, "transactions", "Discards a transaction.", "2.0.0", "O(N), when N is the number of queued commands",
     "fast transaction"},
    {"watch", -2, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy | cmd_nomulti, 1, -1, 1, session,
     nullptr, "transactions", "Monitors changes to keys to determine the execution of a transaction.", "2.2.0",
     "O(1) for every key.", "fast transaction"},
    {"unwatch", 1, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy, 0, 0, 0, session, nullptr,
     "transactions", "Forgets about watched keys of a transaction.", "2.2.0", "O(1)", "fast transaction"},
    {"dbsize", 1, cmd_readonly | cmd_fast, 0, 0, 0, global, nullptr, "server",
     "Returns the number of keys in the database.", "1.0.0", "O(1)", "keyspace read fast"},
    {"flushdb", -1, cmd_write, 0, 0, 0, global, nullptr, "server", "Remove all keys from the current database.",
     "1.0.0", "O(N) where N is the number of keys in the selected database", "keyspace write slow dangerous"},
    {"flushall", -1, cmd_write, 0, 0, 0, global, nullptr, "server", "Removes all keys from all databases.", "1.0.0",
     "O(N) where N is the total number of keys in all databases", "keyspace write slow dangerous"},
    {"keys", 2, cmd_readonly, 0, 0, 0, global, nullptr, "generic", "Returns all key names that match a pattern.",
     "1.0.0",
     "O(N) with N being the number of keys in the database, under the assumption that the key names in the "
     "database and the given pattern have limited length.",
     "keyspace read slow dangerous"},
    {"scan", -2, cmd_readonly, 0, 0, 0, global, nullptr, "generic", "Iterates over the key names in the database.",
     "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to "
     "return back to 0. N is the number of elements inside the collection.",
     "keyspace read slow"},
    {"randomkey", 1, cmd_readonly, 0, 0, 0, global, nullptr, "generic", "Returns a random key name from the database.",
     "1.0.0", "O(1)", "keyspace read slow"},
    {"info", -1, cmd_loading | cmd_stale, 0, 0, 0, global, nullptr, "server",
     "Returns information and statistics about the server.", "1.0.0", "O(1)", "slow dangerous"},
    {"config", -2, 0, 0, 0, 0, global, nullptr, "server", "A container for server configuration commands.", "2.0.0",
     "Depends on subcommand.", "slow"},
    {"command", -1, cmd_loading | cmd_stale, 0, 0, 0, session, nullptr, "server",
     "Returns detailed information about all commands.", "2.8.13", "O(N) where N is the total number of Redis commands",
     "slow connection"},
    {"time", 1, cmd_loading | cmd_stale | cmd_fast, 0, 0, 0, session, nullptr, "server", "Returns the server time.",
     "2.6.0", "O(1)", "fast"},
};

} // namespace

std::span<const command_spec> server_commands() noexcept {
    return specs;
}

} // namespace percore::kv
