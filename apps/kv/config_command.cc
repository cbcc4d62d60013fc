#include "apps/kv/config_command.hh"

#include <algorithm>
#include <string>
#include <vector>

#include <climits>

#include "apps/kv/commands/util.hh"
#include "apps/kv/global_commands.hh"
#include "apps/kv/info.hh"
#include "apps/kv/on_all_shards.hh"
#include "apps/kv/persistence/data_dir.hh"
#include "apps/kv/persistence/recovery.hh"
#include "apps/kv/session.hh"
#include "shard/shard_id.hh"

namespace percore::kv {

namespace {

/// Why a value was refused (Redis's wording), empty when it was taken.
using setter = std::string (*)(settings&, std::string_view);
using getter = std::string (*)(const settings&);

enum class mutability : std::uint8_t { settable, immutable, protected_ };

struct config_param {
    std::string_view name;
    getter get;
    setter set; ///< for settable parameters
    mutability mut = mutability::settable;
};

std::string between(std::int64_t lo, std::int64_t hi) {
    return "argument must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " inclusive";
}

/// An integer setting in [lo, hi]. \return an error reason, or empty and the value in `v`
std::string integer(std::string_view text, std::int64_t lo, std::int64_t hi, std::int64_t& v) {
    if (!parse_int(text, v)) {
        return "argument couldn't be parsed into an integer";
    }
    return v < lo || v > hi ? between(lo, hi) : std::string();
}

/// A memory setting ("1mb"); `lo` > 0: at least `lo` bytes and at most LLONG_MAX (Redis's long long settings).
std::string memory(std::string_view text, std::uint64_t lo, std::uint64_t& v) {
    if (!parse_memory(text, v)) {
        return "argument must be a memory value";
    }
    return lo > 0 && (v < lo || v > LLONG_MAX) ? between(static_cast<std::int64_t>(lo), LLONG_MAX) : std::string();
}

std::string yes_no(std::string_view text, bool& v) {
    if (iequals(text, "yes") || iequals(text, "no")) {
        v = iequals(text, "yes");
        return {};
    }
    return "argument must be 'yes' or 'no'";
}

constexpr std::uint64_t one_mb = 1024 * 1024;

const config_param params[] = {
    {"maxmemory", [](const settings& s) { return std::to_string(s.maxmemory); },
     [](settings& s, std::string_view v) {
         std::uint64_t n = 0;
         std::string e = memory(v, 0, n);
         s.maxmemory = e.empty() ? n : s.maxmemory;
         return e;
     }},
    {"maxmemory-policy", [](const settings& s) { return std::string(to_string(s.policy)); },
     [](settings& s, std::string_view v) {
         for (auto p : {eviction_policy::noeviction, eviction_policy::allkeys_lru}) {
             if (iequals(v, to_string(p))) {
                 s.policy = p;
                 return std::string();
             }
         }
         return std::string("argument(s) must be one of the following: noeviction, allkeys-lru");
     }},
    {"maxmemory-samples", [](const settings& s) { return std::to_string(s.maxmemory_samples); },
     [](settings& s, std::string_view v) {
         std::int64_t n = 0;
         std::string e = integer(v, 1, INT_MAX, n);
         s.maxmemory_samples = e.empty() ? static_cast<unsigned>(n) : s.maxmemory_samples;
         return e;
     }},
    {"maxclients", [](const settings& s) { return std::to_string(s.maxclients); },
     [](settings& s, std::string_view v) {
         std::int64_t n = 0;
         std::string e = integer(v, 1, UINT_MAX, n);
         s.maxclients = e.empty() ? static_cast<std::size_t>(n) : s.maxclients;
         return e;
     }},
    {"timeout", [](const settings& s) { return std::to_string(s.timeout_s); },
     [](settings& s, std::string_view v) {
         std::int64_t n = 0;
         std::string e = integer(v, 0, INT_MAX, n);
         s.timeout_s = e.empty() ? static_cast<std::uint64_t>(n) : s.timeout_s;
         return e;
     }},
    {"hz", [](const settings& s) { return std::to_string(s.hz); },
     [](settings& s, std::string_view v) {
         std::int64_t n = 0;
         std::string e = integer(v, 0, INT_MAX, n);
         s.hz = e.empty() ? static_cast<unsigned>(std::clamp<std::int64_t>(n, 1, 500)) : s.hz; // as Redis clamps it
         return e;
     }},
    {"proto-max-bulk-len", [](const settings& s) { return std::to_string(s.limits.max_bulk); },
     [](settings& s, std::string_view v) {
         std::uint64_t n = 0;
         std::string e = memory(v, one_mb, n);
         if (e.empty() && n > object::max_string_size) {
             e = between(static_cast<std::int64_t>(one_mb), static_cast<std::int64_t>(object::max_string_size));
         }
         s.limits.max_bulk = e.empty() ? n : s.limits.max_bulk;
         return e;
     }},
    {"client-query-buffer-limit", [](const settings& s) { return std::to_string(s.limits.max_query_buffer); },
     [](settings& s, std::string_view v) {
         std::uint64_t n = 0;
         std::string e = memory(v, one_mb, n);
         s.limits.max_query_buffer = e.empty() ? n : s.limits.max_query_buffer;
         return e;
     }},
    {"requirepass", [](const settings& s) { return s.requirepass; },
     [](settings& s, std::string_view v) {
         s.requirepass = v;
         return std::string();
     }},
    {"auto-aof-rewrite-min-size", [](const settings& s) { return std::to_string(s.log_rewrite_min_size); },
     [](settings& s, std::string_view v) {
         std::uint64_t n = 0;
         std::string e = memory(v, 0, n);
         s.log_rewrite_min_size = e.empty() ? n : s.log_rewrite_min_size;
         return e;
     }},
    {"auto-aof-rewrite-percentage", [](const settings& s) { return std::to_string(s.log_rewrite_percentage); },
     [](settings& s, std::string_view v) {
         std::int64_t n = 0;
         std::string e = integer(v, 0, INT_MAX, n);
         s.log_rewrite_percentage = e.empty() ? static_cast<unsigned>(n) : s.log_rewrite_percentage;
         return e;
     }},
    // Snapshots of the RDB kind are not in this build (the append-only logs are): `save` stays "".
    {"save", [](const settings&) { return std::string(); },
     [](settings&, std::string_view v) {
         return v.empty() ? std::string() : std::string("snapshots are not in this build: only \"\" is accepted");
     }},
    {"appendonly", [](const settings& s) { return std::string(s.appendonly ? "yes" : "no"); },
     [](settings& s, std::string_view v) { return yes_no(v, s.appendonly); }},
    {"appendfsync", [](const settings& s) { return std::string(to_string(s.appendfsync)); },
     [](settings& s, std::string_view v) {
         return parse_durability(v, s.appendfsync)
                    ? std::string()
                    : std::string("argument(s) must be one of the following: always, everysec, no");
     }},
    {"databases", [](const settings&) { return std::string("1"); }, nullptr, mutability::immutable},
    {"cluster-enabled", [](const settings&) { return std::string("no"); }, nullptr, mutability::immutable},
    {"port", [](const settings& s) { return std::to_string(s.port); }, nullptr, mutability::immutable},
    {"bind", [](const settings& s) { return s.address; }, nullptr, mutability::immutable},
    {"dir", [](const settings& s) { return s.dir; }, nullptr, mutability::protected_},
};

const config_param* find_param(std::string_view name) {
    for (const config_param& p : params) {
        if (p.name.size() == name.size() && iequals(name, p.name)) {
            return &p;
        }
    }
    return nullptr;
}

std::string failed(std::string_view name, std::string_view why) {
    return "ERR CONFIG SET failed (possibly related to argument '" + std::string(name) + "') - " + std::string(why);
}

void config_get(const settings& cfg, argv_t argv, resp::reply_writer& out) {
    // Each parameter once, under the name of its first match: as typed for an exact name, its own for a pattern.
    std::vector<std::pair<const config_param*, std::string_view>> found;
    auto add = [&](const config_param* p, std::string_view shown) {
        if (std::none_of(found.begin(), found.end(), [p](const auto& f) { return f.first == p; })) {
            found.emplace_back(p, shown);
        }
    };
    for (std::size_t i = 2; i < argv.size(); ++i) {
        const std::string_view arg = argv[i];
        if (arg.find_first_of("*?[") == std::string_view::npos) {
            if (const config_param* p = find_param(arg)) {
                add(p, arg);
            }
            continue;
        }
        for (const config_param& p : params) {
            if (glob_match(arg, p.name, true)) {
                add(&p, p.name);
            }
        }
    }
    out.map(found.size());
    for (const auto& [p, shown] : found) {
        out.bulk(shown);
        out.bulk(p->get(cfg));
    }
}

task<> close_log(shard_state& st) {
    co_await st.lock.lock();
    co_await st.plog.close();
    st.lock.unlock();
}

task<> change_policy(shard_state& st, storage::durability policy) {
    co_await st.lock.lock();
    std::exception_ptr failure;
    try {
        co_await st.plog.set_policy(policy);
    } catch (...) {
        failure = std::current_exception();
    }
    st.lock.unlock();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

/// Opens, closes or re-policies the shard logs for CONFIG SET appendonly / appendfsync. \return "" or the error
task<std::string> switch_logs(sharded<shard_state>& shards, settings before, settings after) {
    try {
        if (after.appendonly && !before.appendonly) {
            // As Redis: the log starts as a snapshot of memory (what an older log in the directory held is
            // superseded by it).
            std::string why = co_await shards.invoke_on(0, [dir = after.dir](shard_state&) {
                std::string error;
                if (!hold_data_dir(dir, error)) {
                    return error;
                }
                return check_layout(dir, shard_count());
            });
            if (!why.empty()) {
                co_return failed("appendonly", why);
            }
            co_await start_logs_from_memory(shards, after);
        } else if (!after.appendonly && before.appendonly) {
            co_await shards.invoke_on_all([](shard_state& st) { return close_log(st); });
        } else if (after.appendonly && after.appendfsync != before.appendfsync) {
            co_await shards.invoke_on_all([p = after.appendfsync](shard_state& st) { return change_policy(st, p); });
        }
    } catch (const std::exception& e) {
        co_return failed("appendonly", e.what());
    }
    co_return std::string();
}

task<> config_set(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    if (argv.size() % 2 != 0) {
        out.error(err_syntax);
        co_return;
    }
    // First every name (unknown, immutable, repeated), then every value, all on a copy: all or nothing.
    std::vector<const config_param*> seen;
    for (std::size_t i = 2; i < argv.size(); i += 2) {
        const config_param* p = find_param(argv[i]);
        if (p == nullptr) {
            out.error("ERR Unknown option or number of arguments for CONFIG SET - '" + std::string(argv[i]) + "'");
            co_return;
        }
        if (p->mut != mutability::settable) {
            out.error(failed(argv[i], p->mut == mutability::immutable ? "can't set immutable config"
                                                                      : "can't set protected config"));
            co_return;
        }
        if (std::find(seen.begin(), seen.end(), p) != seen.end()) {
            out.error(failed(p->name, "duplicate parameter"));
            co_return;
        }
        seen.push_back(p);
    }
    settings updated = shards.local().config();
    for (std::size_t i = 2; i < argv.size(); i += 2) {
        const config_param* p = seen[(i - 2) / 2];
        if (std::string why = p->set(updated, argv[i + 1]); !why.empty()) {
            out.error(failed(p->name, why));
            co_return;
        }
    }
    const std::string why = co_await switch_logs(shards, shards.local().config(), updated);
    if (!why.empty()) {
        out.error(why);
        co_return;
    }
    co_await on_all_shards(shards, [updated](shard_state& st) {
        st.reconfigure(updated);
        for (session* s : st.clients()) {
            s->apply_settings();
        }
        return 0;
    });
    out.ok();
}

void config_help(resp::reply_writer& out) {
    static constexpr std::string_view lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern> [<pattern> ...]",
        "    Each setting whose name matches a pattern (glob-style, any case), with its value.",
        "SET <parameter> <value> [<parameter> <value> ...]",
        "    Change settings on every shard: all of them, or none when one is refused.",
        "RESETSTAT",
        "    Zero the counters INFO reports.",
        "REWRITE",
        "    Write the settings to the configuration file (there is none: an error).",
        "HELP",
        "    This text.",
    };
    out.array(std::size(lines));
    for (std::string_view l : lines) {
        out.simple(l);
    }
}

} // namespace

task<> config_command(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out) {
    const std::string_view sub = argv[1];
    if (iequals(sub, "get")) {
        config_get(shards.local().config(), argv, out);
    } else if (iequals(sub, "set")) {
        co_await config_set(shards, argv, out);
    } else if (iequals(sub, "resetstat")) {
        co_await on_all_shards(shards, [](shard_state& st) {
            reset_stats(st);
            return 0;
        });
        out.ok();
    } else if (iequals(sub, "rewrite")) {
        out.error("ERR The server is running without a config file");
    } else if (iequals(sub, "help")) {
        config_help(out);
    } else {
        out.error("ERR unknown subcommand '" + std::string(sub) + "'. Try CONFIG HELP.");
    }
}

} // namespace percore::kv
