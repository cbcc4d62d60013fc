#include "apps/kv/global_commands.hh"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include "apps/kv/commands/util.hh"
#include "apps/kv/cross_shard.hh"
#include "apps/kv/session.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore::kv {

namespace {

std::vector<unsigned> all_shards() {
    std::vector<unsigned> v(shard_count());
    for (unsigned i = 0; i < v.size(); ++i) {
        v[i] = i;
    }
    return v;
}

/// Runs `fn(shard_state&)` on every shard at once; \return the results in shard order.
template <typename Fn>
auto on_all(sharded<shard_state>& shards, Fn fn) -> task<std::vector<std::invoke_result_t<Fn&, shard_state&>>> {
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

task<> flush(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out, shard_lock_set* held) {
    if (argv.size() > 2 || (argv.size() == 2 && !iequals(argv[1], "async") && !iequals(argv[1], "sync"))) {
        out.error(err_syntax);
        co_return;
    }
    std::optional<shard_lock_set> own;
    if (held == nullptr) {
        own.emplace(shards);
        co_await own->acquire(all_shards(), true);
    }
    co_await on_all(shards, [](shard_state& st) {
        st.db.clear();
        return 0;
    });
    if (own) {
        co_await own->release();
    }
    out.ok();
}

task<> keys(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    const std::string pattern(argv[1]);
    const bool all = pattern == "*";
    auto parts = co_await on_all(shards, [pattern, all](shard_state& st) {
        std::vector<std::string> found;
        st.db.for_each_key([&](std::string_view k) {
            if (all || glob_match(pattern, k)) {
                found.emplace_back(k);
            }
        });
        return found;
    });
    std::size_t n = 0;
    for (const auto& p : parts) {
        n += p.size();
    }
    out.array(n);
    for (const auto& p : parts) {
        for (const std::string& k : p) {
            out.bulk(k);
        }
    }
}

task<> scan(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    // The cursor: the shard's own cursor times the shard count, plus the shard.
    std::uint64_t cursor = 0;
    {
        const std::string_view c = argv[1];
        std::int64_t v = 0;
        if (c.empty() || c.size() > 20 || c.find_first_not_of("0123456789") != std::string_view::npos) {
            out.error("ERR invalid cursor");
            co_return;
        }
        cursor = std::strtoull(std::string(c).c_str(), nullptr, 10);
        (void)v;
    }
    std::string pattern;
    bool match = false;
    std::int64_t count = 10;
    std::optional<value_type> type;
    std::string type_name_arg;
    for (std::size_t i = 2; i < argv.size(); i += 2) {
        if (i + 1 >= argv.size()) {
            out.error(err_syntax);
            co_return;
        }
        if (iequals(argv[i], "match")) {
            pattern = argv[i + 1];
            match = pattern != "*";
        } else if (iequals(argv[i], "count")) {
            if (!parse_int(argv[i + 1], count)) {
                out.error(err_not_integer);
                co_return;
            }
            if (count < 1) {
                out.error(err_syntax);
                co_return;
            }
        } else if (iequals(argv[i], "type")) {
            type_name_arg = argv[i + 1];
            for (auto t : {value_type::string, value_type::list, value_type::set, value_type::hash, value_type::zset}) {
                if (iequals(type_name_arg, type_name(t))) {
                    type = t;
                }
            }
            if (!type) {
                type = static_cast<value_type>(255); // an unknown type matches nothing, as in Redis
            }
        } else {
            out.error(err_syntax);
            co_return;
        }
    }
    const unsigned n = shard_count();
    unsigned shard = static_cast<unsigned>(cursor % n);
    std::uint64_t local = cursor / n;
    struct step {
        std::uint64_t next;
        std::vector<std::string> keys;
    };
    auto r = co_await shards.invoke_on(shard, [local, count, pattern, match, type](shard_state& st) {
        st.db.set_now(now_ms());
        step s;
        s.next = st.db.scan(local, static_cast<std::size_t>(count), [&](std::string_view k) {
            if (match && !glob_match(pattern, k)) {
                return;
            }
            if (type) {
                object* o = st.db.find(k);
                if (o == nullptr || o->type() != *type) {
                    return;
                }
            }
            s.keys.emplace_back(k);
        });
        return s;
    });
    std::uint64_t next = 0;
    if (r.next != 0) {
        next = r.next * n + shard;
    } else if (shard + 1 < n) {
        next = shard + 1; // the next shard, from its start
    }
    out.array(2);
    out.bulk(std::to_string(next));
    out.array(r.keys.size());
    for (const std::string& k : r.keys) {
        out.bulk(k);
    }
}

task<> randomkey(sharded<shard_state>& shards, resp::reply_writer& out) {
    auto sizes = co_await on_all(shards, [](shard_state& st) { return st.db.size(); });
    std::size_t total = 0;
    for (std::size_t s : sizes) {
        total += s;
    }
    static thread_local std::mt19937_64 rng(std::random_device{}());
    for (int attempt = 0; attempt < 16 && total > 0; ++attempt) {
        std::size_t pick = std::uniform_int_distribution<std::size_t>(0, total - 1)(rng);
        unsigned shard = 0;
        while (pick >= sizes[shard]) {
            pick -= sizes[shard];
            ++shard;
        }
        auto key = co_await shards.invoke_on(shard, [](shard_state& st) {
            st.db.set_now(now_ms());
            return st.db.random_key();
        });
        if (key) {
            out.bulk(*key);
            co_return;
        }
    }
    out.null();
}

struct shard_info {
    std::size_t keys = 0;
    std::size_t expires = 0;
    std::size_t memory = 0;
    std::size_t clients = 0;
    shard_counters counters;
    std::uint64_t expired = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t changes = 0;
};

std::string format_info(const std::vector<shard_info>& shards, const settings& cfg, std::string_view section) {
    shard_info t;
    for (const shard_info& s : shards) {
        t.keys += s.keys;
        t.expires += s.expires;
        t.memory += s.memory;
        t.clients += s.clients;
        t.counters.commands += s.counters.commands;
        t.counters.connections_received += s.counters.connections_received;
        t.counters.rejected_connections += s.counters.rejected_connections;
        t.counters.evicted_keys += s.counters.evicted_keys;
        t.counters.net_input_bytes += s.counters.net_input_bytes;
        t.counters.net_output_bytes += s.counters.net_output_bytes;
        t.expired += s.expired;
        t.hits += s.hits;
        t.misses += s.misses;
        t.changes += s.changes;
    }
    const bool everything = section == "all" || section == "everything";
    const bool defaults = section.empty() || section == "default";
    auto want = [&](std::string_view name) { return everything || defaults || section == name; };
    std::string out;
    auto line = [&](std::string_view k, auto v) {
        out.append(k);
        out += ':';
        if constexpr (std::is_convertible_v<decltype(v), std::string_view>) {
            out.append(std::string_view(v));
        } else {
            out += std::to_string(v);
        }
        out += "\r\n";
    };
    static const auto started = std::chrono::steady_clock::now();
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    if (want("server")) {
        out += "# Server\r\n";
        line("redis_version", "7.0.15");
        line("percore_version", "0.1.0");
        line("redis_mode", "standalone");
        line("os", "Linux");
        line("arch_bits", 64);
        line("multiplexing_api", "io_uring");
        line("process_id", static_cast<long>(::getpid()));
        line("tcp_port", static_cast<unsigned>(cfg.port));
        line("uptime_in_seconds", static_cast<long long>(uptime.count()));
        line("uptime_in_days", static_cast<long long>(uptime.count() / 86400));
        line("hz", cfg.hz);
        line("shards", static_cast<unsigned>(shards.size()));
        out += "\r\n";
    }
    if (want("clients")) {
        out += "# Clients\r\n";
        line("connected_clients", t.clients);
        line("maxclients", cfg.maxclients);
        line("blocked_clients", 0);
        out += "\r\n";
    }
    if (want("memory")) {
        out += "# Memory\r\n";
        line("used_memory", t.memory);
        line("maxmemory", cfg.maxmemory);
        line("maxmemory_policy", to_string(cfg.policy));
        out += "\r\n";
    }
    if (want("persistence")) {
        out += "# Persistence\r\n";
        line("loading", 0);
        line("rdb_changes_since_last_save", t.changes);
        line("rdb_bgsave_in_progress", 0);
        line("aof_enabled", 0);
        line("aof_rewrite_in_progress", 0);
        out += "\r\n";
    }
    if (want("stats")) {
        out += "# Stats\r\n";
        line("total_connections_received", t.counters.connections_received);
        line("total_commands_processed", t.counters.commands);
        line("total_net_input_bytes", t.counters.net_input_bytes);
        line("total_net_output_bytes", t.counters.net_output_bytes);
        line("rejected_connections", t.counters.rejected_connections);
        line("expired_keys", t.expired);
        line("evicted_keys", t.counters.evicted_keys);
        line("keyspace_hits", t.hits);
        line("keyspace_misses", t.misses);
        out += "\r\n";
    }
    if (want("replication")) {
        out += "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n";
    }
    if (want("cpu")) {
        rusage ru{};
        ::getrusage(RUSAGE_SELF, &ru);
        char buf[64];
        out += "# CPU\r\n";
        std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(ru.ru_stime.tv_sec),
                      static_cast<long>(ru.ru_stime.tv_usec));
        line("used_cpu_sys", std::string_view(buf));
        std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(ru.ru_utime.tv_sec),
                      static_cast<long>(ru.ru_utime.tv_usec));
        line("used_cpu_user", std::string_view(buf));
        out += "\r\n";
    }
    if (want("keyspace")) {
        out += "# Keyspace\r\n";
        if (t.keys > 0) {
            out += "db0:keys=" + std::to_string(t.keys) + ",expires=" + std::to_string(t.expires) + ",avg_ttl=0\r\n";
        }
        out += "\r\n";
    }
    if (everything || section == "shards" || defaults) {
        out += "# Shards\r\n";
        for (std::size_t i = 0; i < shards.size(); ++i) {
            const shard_info& s = shards[i];
            out += "shard" + std::to_string(i) + ":keys=" + std::to_string(s.keys) +
                   ",expires=" + std::to_string(s.expires) + ",used_memory=" + std::to_string(s.memory) +
                   ",clients=" + std::to_string(s.clients) + ",commands=" + std::to_string(s.counters.commands) +
                   "\r\n";
        }
        out += "\r\n";
    }
    // Sections are separated by a blank line; the text ends with its last field's line.
    if (out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0) {
        out.resize(out.size() - 2);
    }
    return out;
}

task<> info(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out, const settings& cfg) {
    std::string section;
    if (argv.size() > 1) {
        section = argv[1];
        for (char& c : section) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    auto infos = co_await on_all(shards, [](shard_state& st) {
        shard_info i;
        i.keys = st.db.size();
        i.expires = st.db.keys_with_expiry();
        i.memory = st.db.memory();
        i.clients = st.clients().size();
        i.counters = st.counters;
        i.expired = st.db.expired_keys();
        i.hits = st.db.hits();
        i.misses = st.db.misses();
        i.changes = st.db.changes();
        return i;
    });
    out.verbatim(format_info(infos, cfg, section));
}

// ---------------------------------------------------------------------------------------------------- CONFIG

struct config_param {
    std::string_view name;
    bool settable;
};

constexpr config_param params[] = {
    {"maxmemory", true},
    {"maxmemory-policy", true},
    {"maxmemory-samples", true},
    {"maxclients", true},
    {"requirepass", true},
    {"timeout", true},
    {"hz", true},
    {"proto-max-bulk-len", true},
    {"client-query-buffer-limit", true},
    {"save", true},
    {"appendonly", false},
    {"appendfsync", false},
    {"databases", false},
    {"port", false},
    {"bind", false},
    {"dir", false},
    {"cluster-enabled", false},
};

std::string param_value(const settings& s, std::string_view name) {
    if (name == "maxmemory") {
        return std::to_string(s.maxmemory);
    }
    if (name == "maxmemory-policy") {
        return to_string(s.policy);
    }
    if (name == "maxmemory-samples") {
        return std::to_string(s.maxmemory_samples);
    }
    if (name == "maxclients") {
        return std::to_string(s.maxclients);
    }
    if (name == "requirepass") {
        return s.requirepass;
    }
    if (name == "timeout") {
        return std::to_string(s.timeout_s);
    }
    if (name == "hz") {
        return std::to_string(s.hz);
    }
    if (name == "proto-max-bulk-len") {
        return std::to_string(s.limits.max_bulk);
    }
    if (name == "client-query-buffer-limit") {
        return std::to_string(s.limits.max_query_buffer);
    }
    if (name == "save") {
        return "";
    }
    if (name == "appendonly") {
        return "no";
    }
    if (name == "appendfsync") {
        return "everysec";
    }
    if (name == "databases") {
        return "1";
    }
    if (name == "port") {
        return std::to_string(s.port);
    }
    if (name == "bind") {
        return s.address;
    }
    if (name == "dir") {
        return s.dir;
    }
    if (name == "cluster-enabled") {
        return "no";
    }
    return "";
}

/// Applies `name value` to `s`. \return an error text, empty on success.
std::string apply_param(settings& s, std::string_view name, std::string_view value) {
    auto failed = [&](std::string_view why) {
        return "ERR CONFIG SET failed (possibly related to argument '" + std::string(name) + "') - " + std::string(why);
    };
    std::uint64_t n = 0;
    if (name == "maxmemory") {
        if (!parse_memory(value, n)) {
            return failed("argument must be a memory value");
        }
        s.maxmemory = n;
    } else if (name == "maxmemory-policy") {
        if (iequals(value, "noeviction")) {
            s.policy = eviction_policy::noeviction;
        } else if (iequals(value, "allkeys-lru")) {
            s.policy = eviction_policy::allkeys_lru;
        } else {
            return failed("argument(s) must be one of the following: noeviction, allkeys-lru");
        }
    } else if (name == "maxmemory-samples" || name == "maxclients" || name == "timeout" || name == "hz") {
        std::int64_t v = 0;
        if (!parse_int(value, v) || v < (name == "timeout" ? 0 : 1)) {
            return failed("argument couldn't be parsed into an integer");
        }
        if (name == "maxmemory-samples") {
            s.maxmemory_samples = static_cast<unsigned>(v);
        } else if (name == "maxclients") {
            s.maxclients = static_cast<std::size_t>(v);
        } else if (name == "timeout") {
            s.timeout_s = static_cast<std::uint64_t>(v);
        } else {
            s.hz = static_cast<unsigned>(std::min<std::int64_t>(v, 500));
        }
    } else if (name == "requirepass") {
        s.requirepass = value;
    } else if (name == "proto-max-bulk-len" || name == "client-query-buffer-limit") {
        if (!parse_memory(value, n) || n < 1024 * 1024) {
            return failed("argument must be a memory value of at least 1mb");
        }
        (name == "proto-max-bulk-len" ? s.limits.max_bulk : s.limits.max_query_buffer) = n;
    } else if (name == "save") {
        if (!value.empty()) {
            return failed("snapshots come with persistence (not in this build): only \"\" is accepted");
        }
    } else {
        return "ERR Unknown option or number of arguments for CONFIG SET - '" + std::string(name) + "'";
    }
    return {};
}

task<> config(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    const std::string_view sub = argv[1];
    settings& mine = shards.local().config();
    if (iequals(sub, "get")) {
        if (argv.size() < 3) {
            out.error(arity_error("config|get"));
            co_return;
        }
        std::vector<std::string_view> matched;
        for (const config_param& p : params) {
            for (std::size_t i = 2; i < argv.size(); ++i) {
                if (glob_match(argv[i], p.name, true)) {
                    matched.push_back(p.name);
                    break;
                }
            }
        }
        out.map(matched.size());
        for (std::string_view name : matched) {
            out.bulk(name);
            out.bulk(param_value(mine, name));
        }
    } else if (iequals(sub, "set")) {
        if (argv.size() < 4 || argv.size() % 2 != 0) {
            out.error(arity_error("config|set"));
            co_return;
        }
        settings updated = mine;
        for (std::size_t i = 2; i < argv.size(); i += 2) {
            std::string name(argv[i]);
            for (char& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            const auto* p = std::find_if(std::begin(params), std::end(params),
                                         [&](const config_param& x) { return x.name == name; });
            if (p == std::end(params) || !p->settable) {
                out.error("ERR Unknown option or number of arguments for CONFIG SET - '" + std::string(argv[i]) + "'");
                co_return;
            }
            if (std::string e = apply_param(updated, name, argv[i + 1]); !e.empty()) {
                out.error(e);
                co_return;
            }
        }
        co_await percore::invoke_on_all([&shards, updated] { shards.local().config() = updated; });
        out.ok();
    } else if (iequals(sub, "resetstat")) {
        co_await percore::invoke_on_all([&shards] { shards.local().counters = {}; });
        out.ok();
    } else if (iequals(sub, "rewrite")) {
        out.error("ERR The server is running without a config file");
    } else {
        out.error("ERR unknown subcommand '" + std::string(sub) + "'. Try CONFIG HELP.");
    }
}

// ---------------------------------------------------------------------------------------------------- CLIENT

task<> client_list(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 2; i < argv.size(); ++i) {
        if (iequals(argv[i], "type") && i + 1 < argv.size()) {
            ++i; // every client is a normal one
        } else if (iequals(argv[i], "id")) {
            for (++i; i < argv.size(); ++i) {
                std::int64_t id = 0;
                if (!parse_int(argv[i], id) || id <= 0) {
                    out.error("ERR Invalid client ID");
                    co_return;
                }
                ids.push_back(static_cast<std::uint64_t>(id));
            }
        } else {
            out.error(err_syntax);
            co_return;
        }
    }
    auto parts = co_await on_all(shards, [ids](shard_state& st) {
        std::string lines;
        for (session* s : st.clients()) {
            if (ids.empty() || std::find(ids.begin(), ids.end(), s->id()) != ids.end()) {
                lines += s->describe();
            }
        }
        return lines;
    });
    std::string all;
    for (const std::string& p : parts) {
        all += p;
    }
    out.verbatim(all);
}

task<> client_kill(session& self, argv_t argv, resp::reply_writer& out) {
    std::optional<std::uint64_t> id;
    std::string addr;
    std::string laddr;
    bool skipme = true;
    const bool old_form = argv.size() == 3;
    if (old_form) {
        addr = argv[2];
    } else {
        for (std::size_t i = 2; i < argv.size(); i += 2) {
            if (i + 1 >= argv.size()) {
                out.error(err_syntax);
                co_return;
            }
            if (iequals(argv[i], "id")) {
                std::int64_t v = 0;
                if (!parse_int(argv[i + 1], v) || v <= 0) {
                    out.error("ERR client-id should be greater than 0");
                    co_return;
                }
                id = static_cast<std::uint64_t>(v);
            } else if (iequals(argv[i], "addr")) {
                addr = argv[i + 1];
            } else if (iequals(argv[i], "laddr")) {
                laddr = argv[i + 1];
            } else if (iequals(argv[i], "skipme")) {
                if (iequals(argv[i + 1], "yes")) {
                    skipme = true;
                } else if (iequals(argv[i + 1], "no")) {
                    skipme = false;
                } else {
                    out.error(err_syntax);
                    co_return;
                }
            } else if (iequals(argv[i], "type") || iequals(argv[i], "user")) {
                // every client is a normal one of the default user
            } else {
                out.error(err_syntax);
                co_return;
            }
        }
    }
    const std::uint64_t me = self.id();
    auto killed = co_await on_all(self.shards(), [id, addr, laddr, skipme, me](shard_state& st) {
        std::vector<session*> victims;
        for (session* s : st.clients()) {
            if ((id && s->id() != *id) || (!addr.empty() && s->peer() != addr) ||
                (!laddr.empty() && s->local() != laddr) || (skipme && s->id() == me)) {
                continue;
            }
            victims.push_back(s);
        }
        for (session* s : victims) {
            s->kill();
        }
        return static_cast<std::int64_t>(victims.size());
    });
    std::int64_t n = 0;
    for (std::int64_t k : killed) {
        n += k;
    }
    if (old_form) {
        if (n == 0) {
            out.error("ERR No such client");
        } else {
            out.ok();
        }
    } else {
        out.integer(n);
    }
}

} // namespace

bool parse_memory(std::string_view text, std::uint64_t& bytes) noexcept {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits > 19) {
        return false;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    const std::string_view unit = text.substr(digits);
    std::uint64_t mul = 1;
    if (unit.empty() || iequals(unit, "b")) {
        mul = 1;
    } else if (iequals(unit, "k")) {
        mul = 1000;
    } else if (iequals(unit, "kb")) {
        mul = 1024;
    } else if (iequals(unit, "m")) {
        mul = 1000 * 1000;
    } else if (iequals(unit, "mb")) {
        mul = 1024 * 1024;
    } else if (iequals(unit, "g")) {
        mul = 1000ULL * 1000 * 1000;
    } else if (iequals(unit, "gb")) {
        mul = 1024ULL * 1024 * 1024;
    } else {
        return false;
    }
    if (v > UINT64_MAX / mul) {
        return false;
    }
    bytes = v * mul;
    return true;
}

task<> run_global(session& s, const command_spec& spec, argv_t argv, resp::reply_writer& out, shard_lock_set* held) {
    auto& shards = s.shards();
    const std::string_view name = spec.name;
    if (name == "dbsize") {
        auto sizes = co_await on_all(shards, [](shard_state& st) { return st.db.size(); });
        std::size_t n = 0;
        for (std::size_t x : sizes) {
            n += x;
        }
        out.integer(static_cast<std::int64_t>(n));
    } else if (name == "flushdb" || name == "flushall") {
        co_await flush(shards, argv, out, held);
    } else if (name == "keys") {
        co_await keys(shards, argv, out);
    } else if (name == "scan") {
        co_await scan(shards, argv, out);
    } else if (name == "randomkey") {
        co_await randomkey(shards, out);
    } else if (name == "info") {
        co_await info(shards, argv, out, s.local_shard().config());
    } else if (name == "config") {
        co_await config(shards, argv, out);
    } else if (name == "client" && iequals(argv[1], "list")) {
        co_await client_list(shards, argv, out);
    } else if (name == "client" && iequals(argv[1], "kill")) {
        co_await client_kill(s, argv, out);
    } else {
        out.error("ERR unknown command '" + std::string(name) + "'");
    }
}

} // namespace percore::kv
