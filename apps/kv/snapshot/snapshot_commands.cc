#include "apps/kv/snapshot/snapshot_commands.hh"

#include <algorithm>
#include <ctime>

#include "apps/kv/commands/util.hh"
#include "apps/kv/on_all_shards.hh"

namespace percore::kv {

namespace {

const std::int64_t server_start_unix = static_cast<std::int64_t>(std::time(nullptr));

enum class outcome : std::uint8_t { started, running, scheduled, no_log };

} // namespace

task<> start_snapshots(sharded<shard_state>& shards, argv_t argv, bool rewrite, resp::reply_writer& out) {
    bool schedule = false;
    if (!rewrite && argv.size() == 2 && iequals(argv[1], "schedule")) {
        schedule = true;
    } else if (argv.size() > 1) {
        out.error(err_syntax);
        co_return;
    }
    // One at a time: refused (or, with SCHEDULE, queued) while any shard still writes the previous one.
    auto busy = co_await on_all_shards(shards, [](shard_state& st) { return st.snapshots.running(); });
    const bool any_busy = std::find(busy.begin(), busy.end(), true) != busy.end();
    if (any_busy && !schedule) {
        out.error(rewrite ? "ERR Background append only file rewriting already in progress"
                          : "ERR Background save already in progress");
        co_return;
    }
    auto results = co_await on_all_shards(shards, [schedule](shard_state& st) {
        if (!st.plog.enabled()) {
            return outcome::no_log;
        }
        if (st.snapshots.running()) {
            if (schedule) {
                st.snapshots.schedule();
                return outcome::scheduled;
            }
            return outcome::running;
        }
        return st.snapshots.start(st) ? outcome::started : outcome::running;
    });
    if (std::all_of(results.begin(), results.end(), [](outcome o) { return o == outcome::no_log; })) {
        out.error("ERR persistence is off: there is no log to snapshot into (start with --appendonly yes or "
                  "CONFIG SET appendonly yes)");
        co_return;
    }
    if (std::find(results.begin(), results.end(), outcome::scheduled) != results.end()) {
        out.simple("Background saving scheduled");
        co_return;
    }
    if (std::find(results.begin(), results.end(), outcome::started) == results.end()) {
        out.error("ERR Background save could not start: the log refuses writes (see INFO persistence)");
        co_return;
    }
    out.simple(rewrite ? "Background append only file rewriting started" : "Background saving started");
}

task<> lastsave(sharded<shard_state>& shards, resp::reply_writer& out) {
    auto times = co_await on_all_shards(shards, [](shard_state& st) { return st.snapshots.status().last_save_unix; });
    std::int64_t t = *std::min_element(times.begin(), times.end());
    out.integer(t == 0 ? server_start_unix : t);
}

} // namespace percore::kv
