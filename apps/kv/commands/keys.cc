// Key commands that run on one shard: DEL UNLINK EXISTS TOUCH TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME
// PEXPIRETIME TTL PTTL PERSIST RENAME RENAMENX COPY. (With keys on several shards, the cross-shard coordinator
// runs them.)
#include <climits>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"
#include "apps/kv/shard_state.hh"

namespace percore::kv {

namespace {

void del_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t n = 0;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        n += ctx.db.erase(argv[i]) ? 1 : 0;
    }
    ctx.out.integer(n);
}

void exists_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t n = 0;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        n += ctx.db.find(argv[i]) != nullptr ? 1 : 0;
    }
    ctx.out.integer(n);
}

void type_cmd(exec_context& ctx, argv_t argv) {
    object* o = ctx.db.find(argv[1]);
    ctx.out.simple(o == nullptr ? "none" : type_name(o->type()));
}

enum expire_flags : unsigned { exp_nx = 1, exp_xx = 2, exp_gt = 4, exp_lt = 8 };

/// EXPIRE and friends: `unit_ms` 1000 for seconds; `absolute` for EXPIREAT/PEXPIREAT.
void expire_generic(exec_context& ctx, argv_t argv, std::int64_t unit_ms, bool absolute, std::string_view name) {
    unsigned flags = 0;
    for (std::size_t i = 3; i < argv.size(); ++i) {
        const std::string_view o = argv[i];
        if (iequals(o, "nx")) {
            flags |= exp_nx;
        } else if (iequals(o, "xx")) {
            flags |= exp_xx;
        } else if (iequals(o, "gt")) {
            flags |= exp_gt;
        } else if (iequals(o, "lt")) {
            flags |= exp_lt;
        } else {
            ctx.out.error("ERR Unsupported option " + std::string(o));
            return;
        }
    }
    if ((flags & exp_nx) != 0 && (flags & (exp_xx | exp_gt | exp_lt)) != 0) {
        ctx.out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & exp_gt) != 0 && (flags & exp_lt) != 0) {
        ctx.out.error("ERR GT and LT options at the same time are not compatible");
        return;
    }
    std::int64_t when = 0;
    if (!int_arg(ctx, argv[2], when)) {
        return;
    }
    auto invalid = [&] { ctx.out.error("ERR invalid expire time in '" + std::string(name) + "' command"); };
    if (unit_ms == 1000) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            invalid();
            return;
        }
        when *= 1000;
    }
    if (!absolute) {
        if (when > LLONG_MAX - ctx.db.now()) {
            invalid();
            return;
        }
        when += ctx.db.now();
    }
    const std::string_view key = argv[1];
    if (ctx.db.find(key) == nullptr) {
        ctx.out.integer(0);
        return;
    }
    if (flags != 0) {
        const auto current = ctx.db.expiry(key);
        if (((flags & exp_nx) != 0 && current) || ((flags & exp_xx) != 0 && !current) ||
            ((flags & exp_gt) != 0 && (!current || when <= *current)) ||
            ((flags & exp_lt) != 0 && current && when >= *current)) {
            ctx.out.integer(0);
            return;
        }
    }
    ctx.db.set_expiry(key, when); // a time already past deletes the key
    ctx.out.integer(1);
}

void expire_cmd(exec_context& ctx, argv_t argv) {
    expire_generic(ctx, argv, 1000, false, "expire");
}
void pexpire_cmd(exec_context& ctx, argv_t argv) {
    expire_generic(ctx, argv, 1, false, "pexpire");
}
void expireat_cmd(exec_context& ctx, argv_t argv) {
    expire_generic(ctx, argv, 1000, true, "expireat");
}
void pexpireat_cmd(exec_context& ctx, argv_t argv) {
    expire_generic(ctx, argv, 1, true, "pexpireat");
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 no key, -1 no expiry.
void ttl_generic(exec_context& ctx, argv_t argv, bool ms, bool absolute) {
    const std::string_view key = argv[1];
    if (ctx.db.find(key) == nullptr) {
        ctx.out.integer(-2);
        return;
    }
    const auto at = ctx.db.expiry(key);
    if (!at) {
        ctx.out.integer(-1);
        return;
    }
    std::int64_t v = absolute ? *at : std::max<std::int64_t>(*at - ctx.db.now(), 0);
    if (!ms) {
        v = absolute ? v / 1000 : (v + 500) / 1000;
    }
    ctx.out.integer(v);
}

void ttl_cmd(exec_context& ctx, argv_t argv) {
    ttl_generic(ctx, argv, false, false);
}
void pttl_cmd(exec_context& ctx, argv_t argv) {
    ttl_generic(ctx, argv, true, false);
}
void expiretime_cmd(exec_context& ctx, argv_t argv) {
    ttl_generic(ctx, argv, false, true);
}
void pexpiretime_cmd(exec_context& ctx, argv_t argv) {
    ttl_generic(ctx, argv, true, true);
}

void persist_cmd(exec_context& ctx, argv_t argv) {
    if (ctx.db.find(argv[1]) == nullptr) {
        ctx.out.integer(0);
        return;
    }
    ctx.out.integer(ctx.db.persist(argv[1]) ? 1 : 0);
}

/// RENAME (nx false) and RENAMENX.
void rename_generic(exec_context& ctx, argv_t argv, bool nx) {
    const std::string_view from = argv[1];
    const std::string_view to = argv[2];
    object* o = ctx.db.find(from);
    if (o == nullptr) {
        ctx.out.error(err_no_such_key);
        return;
    }
    if (from == to) {
        if (nx) {
            ctx.out.integer(0);
        } else {
            ctx.out.ok();
        }
        return;
    }
    if (nx && ctx.db.find(to) != nullptr) {
        ctx.out.integer(0);
        return;
    }
    const auto at = ctx.db.expiry(from);
    object moved = std::move(*o);
    ctx.db.erase(from);
    ctx.db.set(to, std::move(moved));
    if (at) {
        ctx.db.set_expiry(to, *at);
    }
    if (nx) {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
}

void rename_cmd(exec_context& ctx, argv_t argv) {
    rename_generic(ctx, argv, false);
}
void renamenx_cmd(exec_context& ctx, argv_t argv) {
    rename_generic(ctx, argv, true);
}

void copy_cmd(exec_context& ctx, argv_t argv) {
    bool replace = false;
    for (std::size_t i = 3; i < argv.size(); ++i) {
        if (iequals(argv[i], "replace")) {
            replace = true;
        } else if (iequals(argv[i], "db") && i + 1 < argv.size()) {
            std::int64_t db = 0;
            if (!parse_int(argv[++i], db)) {
                ctx.out.error(err_not_integer);
                return;
            }
            if (db != 0) {
                ctx.out.error("ERR DB index is out of range");
                return;
            }
        } else {
            ctx.out.error(err_syntax);
            return;
        }
    }
    const std::string_view from = argv[1];
    const std::string_view to = argv[2];
    if (from == to) {
        ctx.out.error("ERR source and destination objects are the same");
        return;
    }
    object* o = ctx.db.find(from);
    if (o == nullptr) {
        ctx.out.integer(0);
        return;
    }
    if (ctx.db.find(to) != nullptr) {
        if (!replace) {
            ctx.out.integer(0);
            return;
        }
    }
    const auto at = ctx.db.expiry(from);
    ctx.db.set(to, o->clone());
    if (at) {
        ctx.db.set_expiry(to, *at);
    }
    ctx.out.integer(1);
}

constexpr std::string_view generic_doc = "generic";

const command_spec specs[] = {
    {"del", -2, cmd_write, 1, -1, 1, cmd_kind::keyed, &del_cmd, generic_doc,
     "Deletes keys; replies with how many existed.", "1.0.0",
     "O(N) for N keys, plus O(M) to free an aggregate value of M elements", "keyspace write slow"},
    {"unlink", -2, cmd_write | cmd_fast, 1, -1, 1, cmd_kind::keyed, &del_cmd, generic_doc,
     "Deletes keys like DEL (values are freed at once here, not in the background).", "4.0.0",
     "O(N) for N keys, plus the cost of freeing their values", "keyspace write fast"},
    {"exists", -2, cmd_readonly | cmd_fast, 1, -1, 1, cmd_kind::keyed, &exists_cmd, generic_doc,
     "Counts how many of the given keys exist (a repeated key counts each time).", "1.0.0", "O(N) for N keys",
     "keyspace read fast"},
    {"touch", -2, cmd_readonly | cmd_fast, 1, -1, 1, cmd_kind::keyed, &exists_cmd, generic_doc,
     "Marks keys as just used (for LRU eviction); replies with how many exist.", "3.2.1", "O(N) for N keys",
     "keyspace read fast"},
    {"type", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &type_cmd, generic_doc,
     "Names the type of a key's value (none when absent).", "1.0.0", "O(1)", "keyspace read fast"},
    {"expire", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &expire_cmd, generic_doc,
     "Makes a key expire after the given seconds, optionally only under a condition (NX, XX, GT, LT).", "1.0.0", "O(1)",
     "keyspace write fast"},
    {"pexpire", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &pexpire_cmd, generic_doc,
     "Makes a key expire after the given milliseconds.", "2.6.0", "O(1)", "keyspace write fast"},
    {"expireat", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &expireat_cmd, generic_doc,
     "Makes a key expire at a Unix time in seconds.", "1.2.0", "O(1)", "keyspace write fast"},
    {"pexpireat", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &pexpireat_cmd, generic_doc,
     "Makes a key expire at a Unix time in milliseconds.", "2.6.0", "O(1)", "keyspace write fast"},
    {"expiretime", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &expiretime_cmd, generic_doc,
     "Replies with the Unix time, in seconds, at which a key expires.", "7.0.0", "O(1)", "keyspace read fast"},
    {"pexpiretime", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &pexpiretime_cmd, generic_doc,
     "Replies with the Unix time, in milliseconds, at which a key expires.", "7.0.0", "O(1)", "keyspace read fast"},
    {"ttl", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &ttl_cmd, generic_doc,
     "Replies with the seconds a key has left to live.", "1.0.0", "O(1)", "keyspace read fast"},
    {"pttl", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &pttl_cmd, generic_doc,
     "Replies with the milliseconds a key has left to live.", "2.6.0", "O(1)", "keyspace read fast"},
    {"persist", 2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &persist_cmd, generic_doc,
     "Makes a key live for ever again.", "2.2.0", "O(1)", "keyspace write fast"},
    {"rename", 3, cmd_write, 1, 2, 1, cmd_kind::keyed, &rename_cmd, generic_doc,
     "Gives a key a new name, replacing any key of that name.", "1.0.0", "O(1)", "keyspace write slow"},
    {"renamenx", 3, cmd_write | cmd_fast, 1, 2, 1, cmd_kind::keyed, &renamenx_cmd, generic_doc,
     "Gives a key a new name, only if no key has that name yet.", "1.0.0", "O(1)", "keyspace write fast"},
    {"copy", -3, cmd_write | cmd_denyoom, 1, 2, 1, cmd_kind::keyed, &copy_cmd, generic_doc,
     "Copies a key's value and expiry to another key.", "6.2.0", "O(N) for a value of N elements; O(1) for a string",
     "keyspace write slow"},
};

} // namespace

std::span<const command_spec> key_commands() noexcept {
    return specs;
}

} // namespace percore::kv
