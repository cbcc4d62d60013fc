#include "apps/kv/info.hh"

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <random>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "apps/kv/on_all_shards.hh"
#include "shard/bus.hh"

namespace percore::kv {

namespace {

/// 40 random hex digits (run_id, master_replid).
std::string random_hex_id() {
    std::random_device rd;
    std::string id(40, '0');
    for (char& c : id) {
        c = "0123456789abcdef"[rd() % 16];
    }
    return id;
}

// Fixed when the process starts (static initialisation), not at the first INFO.
const auto started = std::chrono::steady_clock::now();
const std::int64_t started_unix = static_cast<std::int64_t>(std::time(nullptr));
const std::string run_id = random_hex_id();
const std::string replication_id = random_hex_id();

struct shard_snapshot {
    std::size_t keys = 0;
    std::size_t expires = 0;
    std::size_t memory = 0;
    std::size_t lazyfree_pending = 0;
    std::uint64_t lazyfreed = 0;
    std::size_t clients = 0;
    shard_counters counters;
    std::uint64_t expired = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t changes = 0;
    std::uint64_t bus_sent = 0;
    std::uint64_t bus_processed = 0;
    timeval cpu_user{};
    timeval cpu_sys{};
    log_status log;
    snapshot_status snap;
    std::uint64_t snap_by_writes = 0; ///< of the running or last snapshot
};

shard_snapshot snapshot(shard_state& st) {
    shard_snapshot s;
    s.keys = st.db.size();
    s.expires = st.db.keys_with_expiry();
    s.memory = st.db.memory();
    s.lazyfree_pending = st.db.lazyfree_pending();
    s.lazyfreed = st.db.lazyfreed();
    s.clients = st.clients().size();
    s.counters = st.counters;
    s.expired = st.db.expired_keys() - st.counters.expired_at_reset;
    s.hits = st.db.hits() - st.counters.hits_at_reset;
    s.misses = st.db.misses() - st.counters.misses_at_reset;
    s.changes = st.db.changes();
    s.log = st.plog.status();
    if (const shard_bus* bus = shard_bus::try_local()) {
        s.bus_sent = bus->counters().sent;
        s.bus_processed = bus->counters().processed;
    }
    s.snap = st.snapshots.status();
    if (const snapshot_writer* w = st.snapshots.writer()) {
        s.snap_by_writes = w->stats().by_writes;
        s.snap.last_peak_pending = std::max(s.snap.last_peak_pending, w->stats().peak_pending);
    }
    rusage ru{};
    ::getrusage(RUSAGE_THREAD, &ru); // this shard's thread
    s.cpu_user = ru.ru_utime;
    s.cpu_sys = ru.ru_stime;
    return s;
}

std::string seconds(const timeval& t) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(t.tv_sec), static_cast<long>(t.tv_usec));
    return buf;
}

/// Which sections INFO's arguments ask for.
struct section_filter {
    std::vector<std::string> names;
    bool all = false;
    bool defaults = false;

    explicit section_filter(argv_t argv) {
        defaults = argv.size() < 2;
        for (std::size_t i = 1; i < argv.size(); ++i) {
            std::string name(argv[i]);
            for (char& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            all = all || name == "all" || name == "everything";
            defaults = defaults || name == "default";
            names.push_back(std::move(name));
        }
    }
    // Every section we have belongs to the default set.
    [[nodiscard]] bool wants(std::string_view section) const {
        return all || defaults || std::find(names.begin(), names.end(), section) != names.end();
    }
};

class info_text {
public:
    explicit info_text(const section_filter& f)
        : _filter(f) {}

    /// Starts section `name` ("Server") if it was asked for. \return whether it was
    bool section(std::string_view title, std::string_view name) {
        if (!_filter.wants(name)) {
            return false;
        }
        if (!_text.empty()) {
            _text += "\r\n"; // a blank line between sections, none after the last
        }
        _text += "# ";
        _text += title;
        _text += "\r\n";
        return true;
    }
    void line(std::string_view key, std::string_view value) {
        _text += key;
        _text += ':';
        _text += value;
        _text += "\r\n";
    }
    void line(std::string_view key, std::uint64_t value) { line(key, std::to_string(value)); }
    void line(std::string_view key, std::int64_t value) { line(key, std::to_string(value)); }
    void line(std::string_view key, int value) { line(key, std::to_string(value)); }
    [[nodiscard]] std::string& text() noexcept { return _text; }

private:
    const section_filter& _filter;
    std::string _text;
};

/// The allocator the process runs with (percore-kv may be linked with jemalloc or mimalloc), found by its symbols.
std::string allocator_name() {
    if (void* sym = ::dlsym(RTLD_DEFAULT, "mallctl")) {
        using mallctl_fn = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
        mallctl_fn mallctl = nullptr;
        std::memcpy(&mallctl, &sym, sizeof mallctl);
        const char* version = nullptr;
        std::size_t len = sizeof version;
        if (mallctl("version", static_cast<void*>(&version), &len, nullptr, 0) == 0 && version != nullptr) {
            const std::string_view v(version);
            return "jemalloc-" + std::string(v.substr(0, v.find('-')));
        }
        return "jemalloc";
    }
    return ::dlsym(RTLD_DEFAULT, "mi_version") != nullptr ? "mimalloc" : "libc";
}

std::uint64_t rss_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    unsigned long long pages_total = 0;
    unsigned long long pages_resident = 0;
    if (f != nullptr) {
        if (std::fscanf(f, "%llu %llu", &pages_total, &pages_resident) != 2) {
            pages_resident = 0;
        }
        std::fclose(f);
    }
    return pages_resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void server_section(info_text& t, const settings& cfg, std::size_t shards) {
    utsname u{};
    ::uname(&u);
    std::array<char, 4096> exe{};
    const ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    t.line("redis_version", "7.0.15");
    t.line("percore_version", "0.1.0");
    t.line("redis_mode", "standalone");
    t.line("os", std::string(u.sysname) + " " + u.release + " " + u.machine);
    t.line("arch_bits", static_cast<int>(sizeof(void*) * 8));
    t.line("monotonic_clock", "POSIX clock_gettime");
    t.line("multiplexing_api", "io_uring");
    t.line("process_id", static_cast<std::int64_t>(::getpid()));
    t.line("process_supervised", "no");
    t.line("run_id", run_id);
    t.line("tcp_port", static_cast<int>(cfg.port));
    t.line("server_time_usec",
           static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
    t.line("uptime_in_seconds", static_cast<std::int64_t>(up.count()));
    t.line("uptime_in_days", static_cast<std::int64_t>(up.count() / 86400));
    t.line("hz", static_cast<int>(cfg.hz));
    t.line("configured_hz", static_cast<int>(cfg.hz));
    t.line("executable", n > 0 ? std::string_view(exe.data(), static_cast<std::size_t>(n)) : std::string_view());
    t.line("config_file", "");
    t.line("io_threads_active", 0); // each shard does its own I/O: no I/O threads
    t.line("shards", static_cast<std::uint64_t>(shards));
}

void memory_section(info_text& t, const settings& cfg, const shard_snapshot& shards_total) {
    const std::uint64_t used = shards_total.memory;
    const std::uint64_t rss = rss_bytes();
    const auto total =
        static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    t.line("used_memory", used); // keys and values, as maxmemory counts them
    t.line("used_memory_human", human_bytes(used));
    t.line("used_memory_rss", rss);
    t.line("used_memory_rss_human", human_bytes(rss));
    t.line("used_memory_dataset", used);
    t.line("total_system_memory", total);
    t.line("total_system_memory_human", human_bytes(total));
    t.line("maxmemory", cfg.maxmemory);
    t.line("maxmemory_human", human_bytes(cfg.maxmemory));
    t.line("maxmemory_policy", to_string(cfg.policy));
    static const std::string allocator = allocator_name();
    t.line("mem_allocator", allocator);
    // Keys FLUSHALL/FLUSHDB left to free in the background (UNLINK frees at once).
    t.line("lazyfree_pending_objects", static_cast<std::uint64_t>(shards_total.lazyfree_pending));
    t.line("lazyfreed_objects", shards_total.lazyfreed);
}

void persistence_section(info_text& t, std::uint64_t changes, const std::vector<shard_snapshot>& shards,
                         const settings& cfg) {
    // The append-only logs are per shard: the fields sum them, and one failing shard makes the status "err".
    // Every shard snapshots into its own log, and BGSAVE and BGREWRITEAOF start the same thing, so the rdb_* and
    // aof_* fields of snapshots say the same: in progress if any shard is, ok if every shard's last one was, the
    // last save when every shard had saved (the start until then), saves counted per shard.
    bool enabled = false;
    bool failing = false;
    std::uint64_t size = 0;
    std::uint64_t base = 0;
    std::uint64_t fsyncs = 0;
    std::uint64_t writes = 0;
    std::uint64_t records = 0;
    std::uint64_t commands = 0;
    std::uint64_t load_ms = 0;
    bool running = false;
    bool scheduled = false;
    bool ok = true;
    bool all_saved = true;
    std::int64_t last_save = 0;
    std::int64_t last_duration = -1;
    std::int64_t current_start = 0;
    std::uint64_t saves = 0;
    std::uint64_t by_writes = 0;
    std::size_t peak_pending = 0;
    for (const shard_snapshot& s : shards) {
        enabled = enabled || s.log.enabled;
        failing = failing || s.log.misconf;
        size += s.log.size;
        base += s.log.base_size;
        fsyncs += s.log.syncs;
        writes += s.log.batches;
        records += s.log.records;
        commands += s.log.commands;
        load_ms = std::max(load_ms, s.log.load_ms);
        running = running || s.snap.in_progress;
        scheduled = scheduled || s.snap.scheduled;
        ok = ok && s.snap.last_ok;
        all_saved = all_saved && s.snap.last_save_unix != 0;
        last_save = last_save == 0 ? s.snap.last_save_unix : std::min(last_save, s.snap.last_save_unix);
        last_duration = std::max(last_duration, s.snap.last_duration_s);
        if (s.snap.in_progress && (current_start == 0 || s.snap.current_start_ms < current_start)) {
            current_start = s.snap.current_start_ms;
        }
        saves += s.snap.saves;
        by_writes += s.snap_by_writes;
        peak_pending = std::max(peak_pending, s.snap.last_peak_pending);
    }
    const std::int64_t current = running ? (now_ms() - current_start) / 1000 : -1;
    const char* status = ok ? "ok" : "err";
    t.line("loading", 0);
    t.line("async_loading", 0);
    t.line("rdb_changes_since_last_save", changes);
    t.line("rdb_bgsave_in_progress", running ? 1 : 0);
    t.line("rdb_last_save_time", all_saved && last_save != 0 ? last_save : started_unix);
    t.line("rdb_last_bgsave_status", status);
    t.line("rdb_last_bgsave_time_sec", last_duration);
    t.line("rdb_current_bgsave_time_sec", current);
    t.line("rdb_saves", saves);
    t.line("aof_enabled", enabled ? 1 : 0);
    t.line("aof_rewrite_in_progress", running ? 1 : 0);
    t.line("aof_rewrite_scheduled", scheduled ? 1 : 0);
    t.line("aof_last_rewrite_time_sec", last_duration);
    t.line("aof_current_rewrite_time_sec", current);
    t.line("aof_last_bgrewrite_status", status);
    t.line("aof_rewrites", saves);
    t.line("aof_last_write_status", failing ? "err" : "ok");
    if (enabled) {
        // As Redis, only with the log on; then percore-kv's own: the policy, group commit, the last load.
        t.line("aof_current_size", size);
        t.line("aof_base_size", base);
        t.line("aof_pending_rewrite", 0);
        t.line("aof_buffer_length", 0);
        t.line("aof_pending_bio_fsync", 0);
        t.line("aof_delayed_fsync", 0);
        t.line("aof_fsync_policy", to_string(cfg.appendfsync));
        t.line("aof_records_written", records);
        t.line("aof_commands_written", commands);
        t.line("aof_writes", writes);
        t.line("aof_fsyncs", fsyncs);
        t.line("aof_load_time_ms", load_ms);
    }
    // The last snapshots (the running ones included): keys the write hook saved, the largest pending buffer.
    t.line("percore_snapshot_keys_saved_before_a_write", by_writes);
    t.line("percore_snapshot_peak_pending_bytes", static_cast<std::uint64_t>(peak_pending));
}

void stats_section(info_text& t, const shard_snapshot& s) {
    const shard_counters& c = s.counters;
    t.line("total_connections_received", c.connections_received);
    t.line("total_commands_processed", c.commands);
    t.line("total_net_input_bytes", c.net_input_bytes);
    t.line("total_net_output_bytes", c.net_output_bytes);
    t.line("total_net_repl_input_bytes", 0);
    t.line("total_net_repl_output_bytes", 0);
    t.line("rejected_connections", c.rejected_connections);
    t.line("sync_full", 0);
    t.line("sync_partial_ok", 0);
    t.line("sync_partial_err", 0);
    t.line("expired_keys", s.expired);
    t.line("evicted_keys", c.evicted_keys);
    t.line("evicted_clients", 0);
    t.line("keyspace_hits", s.hits);
    t.line("keyspace_misses", s.misses);
    t.line("pubsub_channels", 0);
    t.line("pubsub_patterns", 0);
    t.line("pubsubshard_channels", 0);
    t.line("latest_fork_usec", 0);
    t.line("total_forks", 0);
    t.line("total_reads_processed", c.reads_processed);
    t.line("total_writes_processed", c.writes_processed);
    t.line("io_threaded_reads_processed", 0);
    t.line("io_threaded_writes_processed", 0);
}

void replication_section(info_text& t) {
    t.line("role", "master");
    t.line("connected_slaves", 0);
    t.line("master_failover_state", "no-failover");
    t.line("master_replid", replication_id);
    t.line("master_replid2", std::string(40, '0'));
    t.line("master_repl_offset", 0);
    t.line("second_repl_offset", -1);
    t.line("repl_backlog_active", 0);
    t.line("repl_backlog_first_byte_offset", 0);
    t.line("repl_backlog_histlen", 0);
}

void cpu_section(info_text& t) {
    rusage self{};
    rusage children{};
    ::getrusage(RUSAGE_SELF, &self);
    ::getrusage(RUSAGE_CHILDREN, &children);
    t.line("used_cpu_sys", seconds(self.ru_stime));
    t.line("used_cpu_user", seconds(self.ru_utime));
    t.line("used_cpu_sys_children", seconds(children.ru_stime));
    t.line("used_cpu_user_children", seconds(children.ru_utime));
}

void shards_section(info_text& t, const std::vector<shard_snapshot>& shards) {
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const shard_snapshot& s = shards[i];
        const shard_counters& c = s.counters;
        auto n = [](auto v) { return std::to_string(v); };
        t.line("shard" + n(i),
               "keys=" + n(s.keys) + ",expires=" + n(s.expires) + ",used_memory=" + n(s.memory) + ",clients=" +
                   n(s.clients) + ",commands=" + n(c.commands) + ",connections_received=" + n(c.connections_received) +
                   ",net_input_bytes=" + n(c.net_input_bytes) + ",net_output_bytes=" + n(c.net_output_bytes) +
                   ",expired_keys=" + n(s.expired) + ",evicted_keys=" + n(c.evicted_keys) +
                   ",bus_sent=" + n(s.bus_sent) + ",bus_processed=" + n(s.bus_processed) +
                   ",used_cpu_sys=" + seconds(s.cpu_sys) + ",used_cpu_user=" + seconds(s.cpu_user) +
                   (s.log.enabled ? ",aof_size=" + n(s.log.size) + ",aof_records=" + n(s.log.records) + ",aof_fsyncs=" +
                                        n(s.log.syncs) + ",aof_status=" + (s.log.misconf ? "err" : "ok") +
                                        ",aof_loaded_keys=" + n(s.log.loaded_keys) +
                                        ",aof_load_ms=" + n(s.log.load_ms) + ",aof_reloads=" + n(s.log.reloads)
                                  : std::string()));
    }
}

shard_snapshot total_of(const std::vector<shard_snapshot>& shards) {
    shard_snapshot t;
    for (const shard_snapshot& s : shards) {
        t.keys += s.keys;
        t.expires += s.expires;
        t.memory += s.memory;
        t.lazyfree_pending += s.lazyfree_pending;
        t.lazyfreed += s.lazyfreed;
        t.clients += s.clients;
        t.counters.commands += s.counters.commands;
        t.counters.connections_received += s.counters.connections_received;
        t.counters.rejected_connections += s.counters.rejected_connections;
        t.counters.evicted_keys += s.counters.evicted_keys;
        t.counters.net_input_bytes += s.counters.net_input_bytes;
        t.counters.net_output_bytes += s.counters.net_output_bytes;
        t.counters.reads_processed += s.counters.reads_processed;
        t.counters.writes_processed += s.counters.writes_processed;
        t.expired += s.expired;
        t.hits += s.hits;
        t.misses += s.misses;
        t.changes += s.changes;
    }
    return t;
}

std::string render(const std::vector<shard_snapshot>& shards, const settings& cfg, const section_filter& f) {
    const shard_snapshot total = total_of(shards);
    info_text t(f);
    if (t.section("Server", "server")) {
        server_section(t, cfg, shards.size());
    }
    if (t.section("Clients", "clients")) {
        t.line("connected_clients", static_cast<std::uint64_t>(total.clients));
        t.line("cluster_connections", 0);
        t.line("maxclients", static_cast<std::uint64_t>(cfg.maxclients));
        t.line("blocked_clients", 0); // no blocking commands
        t.line("tracking_clients", 0);
        t.line("clients_in_timeout_table", 0);
    }
    if (t.section("Memory", "memory")) {
        memory_section(t, cfg, total);
    }
    if (t.section("Persistence", "persistence")) {
        persistence_section(t, total.changes, shards, cfg);
    }
    if (t.section("Stats", "stats")) {
        stats_section(t, total);
    }
    if (t.section("Replication", "replication")) {
        replication_section(t);
    }
    if (t.section("CPU", "cpu")) {
        cpu_section(t);
    }
    t.section("Modules", "modules"); // none
    if (t.section("Cluster", "cluster")) {
        t.line("cluster_enabled", 0);
    }
    if (t.section("Keyspace", "keyspace") && total.keys > 0) {
        // avg_ttl: Redis samples it; we do not (yet), and report 0 as Redis does before its first sample.
        t.line("db0",
               "keys=" + std::to_string(total.keys) + ",expires=" + std::to_string(total.expires) + ",avg_ttl=0");
    }
    if (t.section("Shards", "shards")) {
        shards_section(t, shards);
    }
    return std::move(t.text());
}

} // namespace

std::string human_bytes(std::uint64_t n) {
    if (n < 1024) {
        return std::to_string(n) + "B";
    }
    double v = static_cast<double>(n);
    const char* units = "KMGTPE";
    int u = -1;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%c", v, units[u]);
    return buf;
}

void reset_stats(shard_state& st) {
    st.counters = {};
    st.counters.hits_at_reset = st.db.hits();
    st.counters.misses_at_reset = st.db.misses();
    st.counters.expired_at_reset = st.db.expired_keys();
}

task<> info_command(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    const section_filter filter(argv);
    auto snapshots = co_await on_all_shards(shards, [](shard_state& st) { return snapshot(st); });
    out.verbatim(render(snapshots, shards.local().config(), filter));
}

} // namespace percore::kv
