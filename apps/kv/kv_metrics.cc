#include "apps/kv/kv_metrics.hh"

#include "apps/kv/shard_state.hh"

namespace percore::kv {

namespace {

// What INFO persistence says, per shard: an alert can name the shard whose log stopped taking writes.
void collect_persistence(shard_state& st, metrics::sample_sink& out) {
    const log_status log = st.plog.status();
    const snapshot_status& snap = st.snapshots.status();
    const auto n = [](auto v) { return static_cast<double>(v); };
    out.gauge("percore_kv_aof_enabled", "Whether this shard logs its writes (appendonly)", {}, log.enabled ? 1 : 0);
    out.gauge("percore_kv_aof_last_write_ok",
              "0 once a log write or fdatasync failed: the shard refuses writes with MISCONF until one succeeds", {},
              log.misconf ? 0 : 1);
    out.gauge("percore_kv_aof_size_bytes", "Bytes in this shard's log segments", {}, n(log.size));
    out.counter("percore_kv_aof_records_total", "Log records appended since start", {}, n(log.records));
    out.counter("percore_kv_aof_commands_total", "Write commands in those records", {}, n(log.commands));
    out.counter("percore_kv_aof_writes_total", "Writes of the log (one per group commit)", {}, n(log.batches));
    out.counter("percore_kv_aof_fsyncs_total", "fdatasync calls on the log", {}, n(log.syncs));
    out.counter("percore_kv_aof_failed_appends_total", "Appends that failed (write or fdatasync error)", {},
                n(log.failed_appends));
    out.gauge("percore_kv_snapshot_in_progress", "Whether a snapshot (BGSAVE, BGREWRITEAOF, automatic) is running", {},
              snap.in_progress ? 1 : 0);
    out.gauge("percore_kv_snapshot_last_ok", "Whether the last snapshot succeeded (1 when none ran)", {},
              snap.last_ok ? 1 : 0);
    out.gauge("percore_kv_snapshot_last_success_timestamp_seconds",
              "When the last successful snapshot finished (0: none yet)", {}, n(snap.last_save_unix));
    out.counter("percore_kv_snapshots_total", "Successful snapshots", {}, n(snap.saves));
}

void collect(shard_state& st, metrics::sample_sink& out) {
    const shard_counters& c = st.counters;
    const auto commands = all_commands();
    for (std::size_t i = 0; i < c.command_calls.size() && i < commands.size(); ++i) {
        if (c.command_calls[i] != 0) { // ~240 commands: only those used, as Redis's INFO commandstats
            out.counter("percore_kv_commands_total", "Commands run, by command",
                        {{"command", std::string(commands[i]->name)}}, static_cast<double>(c.command_calls[i]));
        }
    }
    const auto n = [](auto v) { return static_cast<double>(v); };
    out.gauge("percore_kv_keys", "Keys in the shard's keyspace", {}, n(st.db.size()));
    out.gauge("percore_kv_keys_with_expiry", "Keys with a time to live", {}, n(st.db.keys_with_expiry()));
    out.counter("percore_kv_expired_keys_total", "Keys removed because their time to live passed", {},
                n(st.db.expired_keys()));
    out.counter("percore_kv_evicted_keys_total", "Keys evicted under maxmemory (since CONFIG RESETSTAT)", {},
                n(c.evicted_keys));
    out.counter("percore_kv_keyspace_hits_total", "Lookups that found their key", {}, n(st.db.hits()));
    out.counter("percore_kv_keyspace_misses_total", "Lookups that did not", {}, n(st.db.misses()));
    out.gauge("percore_kv_used_memory_bytes", "Memory of keys and values, as maxmemory counts it", {},
              n(st.db.memory()));
    out.gauge("percore_kv_connected_clients", "Client connections on this shard", {}, n(st.clients().size()));
    out.counter("percore_kv_connections_received_total", "Client connections accepted (since CONFIG RESETSTAT)", {},
                n(c.connections_received));
    out.counter("percore_kv_connections_rejected_total", "Client connections refused over maxclients", {},
                n(c.rejected_connections));
    collect_persistence(st, out);
}

} // namespace

metrics::registration register_kv_metrics(shard_state& st) {
    return metrics::local_registry().add_collector([&st](metrics::sample_sink& out) { collect(st, out); });
}

} // namespace percore::kv
