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
    {"ping", -1, cmd_fast, 0, 0, 0, keyless, &ping_cmd, "connection",
     "Answers PONG, or echoes its argument: a liveness check.", "1.0.0", "O(1)", "fast connection"},
    {"echo", 2, cmd_fast | cmd_stale | cmd_loading, 0, 0, 0, keyless, &echo_cmd, "connection",
     "Replies with its argument.", "1.0.0", "O(1)", "fast connection"},
    {"hello", -1, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_noscript | cmd_allow_busy, 0, 0, 0, session,
     nullptr, "connection", "Picks the protocol version (2 or 3), optionally authenticates, and describes the server.",
     "6.0.0", "O(1)", "fast connection"},
    {"auth", -2, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_noscript | cmd_allow_busy, 0, 0, 0, session,
     nullptr, "connection", "Proves the connection knows the password.", "1.0.0", "O(N) for a password of N bytes",
     "fast connection"},
    {"select", 2, cmd_fast | cmd_stale | cmd_loading, 0, 0, 0, session, nullptr, "connection",
     "Chooses the database the connection works in (only database 0 exists here).", "1.0.0", "O(1)", "fast connection"},
    {"quit", -1, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_allow_busy | cmd_noscript | cmd_nomulti, 0, 0, 0,
     session, nullptr, "connection", "Replies OK, then closes the connection.", "1.0.0", "O(1)", "fast connection"},
    {"reset", 1, cmd_noauth | cmd_fast | cmd_stale | cmd_loading | cmd_noscript | cmd_allow_busy | cmd_nomulti, 0, 0, 0,
     session, nullptr, "connection",
     "Returns the connection to its initial state: no transaction, no watched keys, RESP2, no name.", "6.2.0", "O(1)",
     "fast connection"},
    {"client", -2, 0, 0, 0, 0, session, nullptr, "connection", "Subcommands about client connections.", "2.4.0",
     "Depends on the subcommand.", "slow"},
    {"multi", 1, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy | cmd_nomulti, 0, 0, 0, session,
     nullptr, "transactions", "Opens a transaction: later commands are queued until EXEC.", "1.2.0", "O(1)",
     "fast transaction"},
    {"exec", 1, cmd_loading | cmd_stale | cmd_noscript | cmd_nomulti, 0, 0, 0, session, nullptr, "transactions",
     "Runs the queued commands as one atomic step, unless a watched key changed.", "1.2.0",
     "The sum of the queued commands' complexities", "slow transaction"},
    {"discard", 1, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy | cmd_nomulti, 0, 0, 0, session,
     nullptr, "transactions", "Drops the queued commands and closes the transaction.", "2.0.0",
     "O(N) for N queued commands", "fast transaction"},
    {"watch", -2, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy | cmd_nomulti, 1, -1, 1, session,
     nullptr, "transactions", "Makes the next EXEC fail if any of these keys changes before it.", "2.2.0",
     "O(1) per key", "fast transaction"},
    {"unwatch", 1, cmd_fast | cmd_loading | cmd_stale | cmd_noscript | cmd_allow_busy, 0, 0, 0, session, nullptr,
     "transactions", "Stops watching every key this connection watches.", "2.2.0", "O(1)", "fast transaction"},
    {"dbsize", 1, cmd_readonly | cmd_fast, 0, 0, 0, global, nullptr, "server", "Counts the keys (over every shard).",
     "1.0.0", "O(1) per shard", "keyspace read fast"},
    {"flushdb", -1, cmd_write, 0, 0, 0, global, nullptr, "server", "Deletes every key of the database.", "1.0.0",
     "O(N) for N keys", "keyspace write slow dangerous"},
    {"shutdown", -1, cmd_admin | cmd_noscript | cmd_loading | cmd_stale | cmd_allow_busy, 0, 0, 0, global, nullptr,
     "server", "Syncs every shard's log, then stops the server.", "1.0.0",
     "O(N) when saving, where N is the total number of keys in all databases", "admin slow dangerous"},
    {"flushall", -1, cmd_write, 0, 0, 0, global, nullptr, "server", "Deletes every key of every database.", "1.0.0",
     "O(N) for N keys", "keyspace write slow dangerous"},
    {"keys", 2, cmd_readonly, 0, 0, 0, global, nullptr, "generic", "Lists the key names that match a glob pattern.",
     "1.0.0", "O(N) for N keys in the database (short names and pattern assumed)", "keyspace read slow dangerous"},
    {"scan", -2, cmd_readonly, 0, 0, 0, global, nullptr, "generic",
     "Walks the key names a few at a time with a cursor, optionally filtered by pattern or type.", "2.8.0",
     "O(1) per call; O(N) to walk all N keys", "keyspace read slow"},
    {"randomkey", 1, cmd_readonly, 0, 0, 0, global, nullptr, "generic", "Picks a key name at random.", "1.0.0", "O(1)",
     "keyspace read slow"},
    {"info", -1, cmd_loading | cmd_stale, 0, 0, 0, global, nullptr, "server",
     "Reports the server's state and counters, by section.", "1.0.0", "O(1)", "slow dangerous"},
    {"config", -2, 0, 0, 0, 0, global, nullptr, "server", "Subcommands that read and change the settings.", "2.0.0",
     "Depends on the subcommand.", "slow"},
    {"bgsave", -1, cmd_admin | cmd_noscript | cmd_no_async_loading, 0, 0, 0, global, nullptr, "server",
     "Starts a snapshot of every shard's keyspace, in the background; it becomes the base of the shard's log.", "1.0.0",
     "O(1)", "admin slow dangerous"},
    {"bgrewriteaof", 1, cmd_admin | cmd_noscript | cmd_no_async_loading, 0, 0, 0, global, nullptr, "server",
     "Rewrites every shard's log as a snapshot of its keyspace, in the background (the same as BGSAVE here).", "1.0.0",
     "O(1)", "admin slow dangerous"},
    {"lastsave", 1, cmd_loading | cmd_stale | cmd_fast, 0, 0, 0, global, nullptr, "server",
     "Replies with the UNIX time at which every shard had last completed a snapshot.", "1.0.0", "O(1)",
     "admin fast dangerous"},
    {"command", -1, cmd_loading | cmd_stale, 0, 0, 0, session, nullptr, "server",
     "Describes every command the server has.", "2.8.13", "O(N) for N commands", "slow connection"},
    {"time", 1, cmd_loading | cmd_stale | cmd_fast, 0, 0, 0, session, nullptr, "server",
     "Replies with the server's clock: seconds and microseconds since the epoch.", "2.6.0", "O(1)", "fast"},
};

} // namespace

std::span<const command_spec> server_commands() noexcept {
    return specs;
}

} // namespace percore::kv
