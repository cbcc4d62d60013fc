// String commands: GET SET SETNX SETEX PSETEX GETDEL GETEX GETSET MGET MSET MSETNX INCR DECR INCRBY DECRBY
// INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE.
#include <cmath>
#include <string>

#include <climits>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"
#include "apps/kv/shard_state.hh"

namespace percore::kv {

namespace {

/// Redis's checkStringLength: APPEND and SETRANGE may not build a string longer than proto-max-bulk-len.
std::uint64_t max_string(const exec_context& ctx) noexcept {
    return ctx.shard.config().limits.max_bulk;
}

enum set_flags : unsigned {
    set_nx = 1,
    set_xx = 2,
    set_get = 4,
    set_keepttl = 8,
    set_persist = 16,
    set_ex = 32,
    set_px = 64,
    set_exat = 128,
    set_pxat = 256,
};
constexpr unsigned any_expire = set_ex | set_px | set_exat | set_pxat;

enum class option_command { set, getex };

/// Redis's parseExtendedStringArgumentsOrReply: options from argv[from] on. \return false after replying.
bool parse_set_options(exec_context& ctx, argv_t argv, std::size_t from, option_command cmd, unsigned& flags,
                       std::string_view& expire_arg) {
    for (std::size_t j = from; j < argv.size(); ++j) {
        const std::string_view opt = argv[j];
        const bool has_next = j + 1 < argv.size();
        if (iequals(opt, "nx") && (flags & set_xx) == 0 && cmd == option_command::set) {
            flags |= set_nx;
        } else if (iequals(opt, "xx") && (flags & set_nx) == 0 && cmd == option_command::set) {
            flags |= set_xx;
        } else if (iequals(opt, "get") && cmd == option_command::set) {
            flags |= set_get;
        } else if (iequals(opt, "keepttl") && (flags & (set_persist | any_expire)) == 0 && cmd == option_command::set) {
            flags |= set_keepttl;
        } else if (iequals(opt, "persist") && cmd == option_command::getex &&
                   (flags & (any_expire | set_keepttl)) == 0) {
            flags |= set_persist;
        } else if ((iequals(opt, "ex") || iequals(opt, "px") || iequals(opt, "exat") || iequals(opt, "pxat")) &&
                   (flags & (set_keepttl | set_persist | any_expire)) == 0 && has_next) {
            flags |= iequals(opt, "ex")     ? set_ex
                     : iequals(opt, "px")   ? set_px
                     : iequals(opt, "exat") ? set_exat
                                            : set_pxat;
            expire_arg = argv[++j];
        } else {
            ctx.out.error(err_syntax);
            return false;
        }
    }
    return true;
}

/// Redis's getExpireMillisecondsOrReply: the absolute expiry in ms. \return false after replying.
bool expire_at(exec_context& ctx, std::string_view arg, unsigned flags, std::string_view command, std::int64_t& at) {
    std::int64_t v = 0;
    if (!int_arg(ctx, arg, v)) {
        return false;
    }
    const bool seconds = (flags & (set_ex | set_exat)) != 0;
    auto invalid = [&] {
        ctx.out.error("ERR invalid expire time in '" + std::string(command) + "' command");
        return false;
    };
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        return invalid();
    }
    if (seconds) {
        v *= 1000;
    }
    if ((flags & (set_ex | set_px)) != 0) {
        if (v > LLONG_MAX - ctx.db.now()) {
            return invalid();
        }
        v += ctx.db.now();
    }
    at = v;
    return true;
}

/// Stores `value` at `key` with the expiry the flags say (an absolute time already past deletes the key).
void store(exec_context& ctx, std::string_view key, std::string_view value, unsigned flags, std::int64_t at) {
    if ((flags & set_keepttl) != 0) {
        ctx.db.set_keep_ttl(key, object(value));
    } else {
        ctx.db.set(key, object(value));
    }
    if ((flags & any_expire) != 0) {
        ctx.db.set_expiry(key, at);
    }
}

void get_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    ctx.db.count_lookup(o != nullptr);
    if (o == nullptr) {
        ctx.out.null();
    } else {
        ctx.out.bulk(o->str());
    }
}

void set_cmd(exec_context& ctx, argv_t argv) {
    unsigned flags = 0;
    std::string_view expire_arg;
    std::int64_t at = 0;
    if (!parse_set_options(ctx, argv, 3, option_command::set, flags, expire_arg)) {
        return;
    }
    if ((flags & any_expire) != 0 && !expire_at(ctx, expire_arg, flags, "set", at)) {
        return;
    }
    const std::string_view key = argv[1];
    object* old = ctx.db.find(key);
    if ((flags & set_get) != 0) {
        if (old != nullptr && old->type() != value_type::string) {
            ctx.out.error(err_wrongtype);
            return;
        }
        if (old == nullptr) {
            ctx.out.null();
        } else {
            ctx.out.bulk(old->str());
        }
    }
    if (((flags & set_nx) != 0 && old != nullptr) || ((flags & set_xx) != 0 && old == nullptr)) {
        if ((flags & set_get) == 0) {
            ctx.out.null();
        }
        return;
    }
    store(ctx, key, argv[2], flags, at);
    if ((flags & set_get) == 0) {
        ctx.out.ok();
    }
}

void setnx_cmd(exec_context& ctx, argv_t argv) {
    if (ctx.db.find(argv[1]) != nullptr) {
        ctx.out.integer(0);
        return;
    }
    ctx.db.set(argv[1], object(argv[2]));
    ctx.out.integer(1);
}

void setex_generic(exec_context& ctx, argv_t argv, unsigned unit_flag, std::string_view name) {
    std::int64_t at = 0;
    if (!expire_at(ctx, argv[2], unit_flag, name, at)) {
        return;
    }
    store(ctx, argv[1], argv[3], unit_flag, at);
    ctx.out.ok();
}

void setex_cmd(exec_context& ctx, argv_t argv) {
    setex_generic(ctx, argv, set_ex, "setex");
}

void psetex_cmd(exec_context& ctx, argv_t argv) {
    setex_generic(ctx, argv, set_px, "psetex");
}

void getdel_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.null();
        return;
    }
    ctx.out.bulk(o->str());
    ctx.db.erase(argv[1]);
}

void getex_cmd(exec_context& ctx, argv_t argv) {
    unsigned flags = 0;
    std::string_view expire_arg;
    std::int64_t at = 0;
    if (!parse_set_options(ctx, argv, 2, option_command::getex, flags, expire_arg)) {
        return;
    }
    if ((flags & any_expire) != 0 && !expire_at(ctx, expire_arg, flags, "getex", at)) {
        return;
    }
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.null();
        return;
    }
    ctx.out.bulk(o->str());
    if ((flags & any_expire) != 0) {
        ctx.db.set_expiry(argv[1], at);
    } else if ((flags & set_persist) != 0) {
        ctx.db.persist(argv[1]);
    }
}

void getset_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.null();
    } else {
        ctx.out.bulk(o->str());
    }
    ctx.db.set(argv[1], object(argv[2]));
}

void mget_cmd(exec_context& ctx, argv_t argv) {
    ctx.out.array(argv.size() - 1);
    for (std::size_t i = 1; i < argv.size(); ++i) {
        object* o = ctx.db.find(argv[i]);
        if (o == nullptr || o->type() != value_type::string) {
            ctx.out.null();
        } else {
            ctx.out.bulk(o->str());
        }
    }
}

void mset_cmd(exec_context& ctx, argv_t argv) {
    if (argv.size() % 2 == 0) {
        ctx.out.error(arity_error("mset"));
        return;
    }
    for (std::size_t i = 1; i < argv.size(); i += 2) {
        ctx.db.set(argv[i], object(argv[i + 1]));
    }
    ctx.out.ok();
}

void msetnx_cmd(exec_context& ctx, argv_t argv) {
    if (argv.size() % 2 == 0) {
        ctx.out.error(arity_error("msetnx"));
        return;
    }
    for (std::size_t i = 1; i < argv.size(); i += 2) {
        if (ctx.db.find(argv[i]) != nullptr) {
            ctx.out.integer(0);
            return;
        }
    }
    for (std::size_t i = 1; i < argv.size(); i += 2) {
        ctx.db.set(argv[i], object(argv[i + 1]));
    }
    ctx.out.integer(1);
}

void incr_generic(exec_context& ctx, std::string_view key, std::int64_t by) {
    bool wrong = false;
    object* o = string_or_reply(ctx, key, wrong);
    if (wrong) {
        return;
    }
    std::int64_t v = 0;
    if (o != nullptr && !parse_int(o->str(), v)) {
        ctx.out.error(err_not_integer);
        return;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        ctx.out.error(err_overflow);
        return;
    }
    v += by;
    std::string text = std::to_string(v);
    if (o != nullptr) {
        o->assign(text); // keeps the expiry
        ctx.db.modified(key);
    } else {
        ctx.db.set(key, object(std::move(text)));
    }
    ctx.out.integer(v);
}

void incr_cmd(exec_context& ctx, argv_t argv) {
    incr_generic(ctx, argv[1], 1);
}

void decr_cmd(exec_context& ctx, argv_t argv) {
    incr_generic(ctx, argv[1], -1);
}

void incrby_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t by = 0;
    if (int_arg(ctx, argv[2], by)) {
        incr_generic(ctx, argv[1], by);
    }
}

void decrby_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t by = 0;
    if (!int_arg(ctx, argv[2], by)) {
        return;
    }
    if (by == LLONG_MIN) {
        ctx.out.error("ERR decrement would overflow");
        return;
    }
    incr_generic(ctx, argv[1], -by);
}

void incrbyfloat_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    long double v = 0;
    long double by = 0;
    if ((o != nullptr && !parse_long_double(o->str(), v)) || !parse_long_double(argv[2], by)) {
        ctx.out.error(err_not_float);
        return;
    }
    v += by;
    if (std::isnan(v) || std::isinf(v)) {
        ctx.out.error("ERR increment would produce NaN or Infinity");
        return;
    }
    std::string text = format_long_double(v);
    ctx.out.bulk(text);
    if (o != nullptr) {
        o->assign(text);
        ctx.db.modified(argv[1]);
    } else {
        ctx.db.set(argv[1], object(std::move(text)));
    }
}

void append_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.db.set(argv[1], object(argv[2]));
        ctx.out.integer(static_cast<std::int64_t>(argv[2].size()));
        return;
    }
    if (o->str().size() + argv[2].size() > max_string(ctx)) {
        ctx.out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    o->append(argv[2]);
    ctx.db.modified(argv[1]);
    ctx.out.integer(static_cast<std::int64_t>(o->str().size()));
}

void strlen_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(o->str().size()));
    }
}

void getrange_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t start = 0;
    std::int64_t end = 0;
    if (!int_arg(ctx, argv[2], start) || !int_arg(ctx, argv[3], end)) {
        return;
    }
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.bulk("");
        return;
    }
    const auto len = static_cast<std::int64_t>(o->str().size());
    if (start < 0 && end < 0 && start > end) {
        ctx.out.bulk("");
        return;
    }
    if (start < 0) {
        start += len;
    }
    if (end < 0) {
        end += len;
    }
    start = std::max<std::int64_t>(start, 0);
    end = std::max<std::int64_t>(end, 0);
    if (end >= len) {
        end = len - 1;
    }
    if (start > end || len == 0) {
        ctx.out.bulk("");
        return;
    }
    ctx.out.bulk(
        std::string_view(o->str()).substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start + 1)));
}

void setrange_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t offset = 0;
    if (!int_arg(ctx, argv[2], offset)) {
        return;
    }
    if (offset < 0) {
        ctx.out.error("ERR offset is out of range");
        return;
    }
    const std::string_view value = argv[3];
    bool wrong = false;
    object* o = string_or_reply(ctx, argv[1], wrong);
    if (wrong) {
        return;
    }
    const std::size_t have = o == nullptr ? 0 : o->str().size();
    if (value.empty()) {
        ctx.out.integer(static_cast<std::int64_t>(have));
        return;
    }
    if (static_cast<std::uint64_t>(offset) + value.size() > max_string(ctx)) {
        ctx.out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    if (o == nullptr) {
        o = &ctx.db.set(argv[1], object());
    }
    o->set_range(static_cast<std::size_t>(offset), value); // pads with zero bytes
    ctx.db.modified(argv[1]);
    ctx.out.integer(static_cast<std::int64_t>(o->str().size()));
}

constexpr std::string_view acl_string_read = "read string fast";
constexpr std::string_view acl_string_write = "write string fast";

const command_spec specs[] = {
    {"get", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &get_cmd, "string",
     "Reads a string value (null when the key is absent).", "1.0.0", "O(1)", acl_string_read},
    {"set", -3, cmd_write | cmd_denyoom, 1, 1, 1, cmd_kind::keyed, &set_cmd, "string",
     "Stores a string under a key, whatever it held, with optional conditions (NX, XX), expiry and GET.", "1.0.0",
     "O(1)", "write string slow"},
    {"setnx", 3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &setnx_cmd, "string",
     "Stores a string only if the key does not exist yet.", "1.0.0", "O(1)", acl_string_write},
    {"setex", 4, cmd_write | cmd_denyoom, 1, 1, 1, cmd_kind::keyed, &setex_cmd, "string",
     "Stores a string that expires after the given seconds.", "2.0.0", "O(1)", "write string slow"},
    {"psetex", 4, cmd_write | cmd_denyoom, 1, 1, 1, cmd_kind::keyed, &psetex_cmd, "string",
     "Stores a string that expires after the given milliseconds.", "2.6.0", "O(1)", "write string slow"},
    {"getdel", 2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &getdel_cmd, "string",
     "Reads a string value and deletes its key.", "6.2.0", "O(1)", acl_string_write},
    {"getex", -2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &getex_cmd, "string",
     "Reads a string value and changes or removes its expiry.", "6.2.0", "O(1)", acl_string_write},
    {"getset", 3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &getset_cmd, "string",
     "Stores a new string and replies with the one it replaced.", "1.0.0", "O(1)", acl_string_write},
    {"mget", -2, cmd_readonly | cmd_fast, 1, -1, 1, cmd_kind::keyed, &mget_cmd, "string",
     "Reads several string values at once (null for each one missing).", "1.0.0", "O(N) for N keys", acl_string_read},
    {"mset", -3, cmd_write | cmd_denyoom, 1, -1, 2, cmd_kind::keyed, &mset_cmd, "string",
     "Stores several strings in one atomic step.", "1.0.1", "O(N) for N keys", "write string slow"},
    {"msetnx", -3, cmd_write | cmd_denyoom, 1, -1, 2, cmd_kind::keyed, &msetnx_cmd, "string",
     "Stores several strings in one atomic step, only if none of the keys exists.", "1.0.1", "O(N) for N keys",
     "write string slow"},
    {"incr", 2, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &incr_cmd, "string",
     "Adds one to an integer string (an absent key counts as 0).", "1.0.0", "O(1)", acl_string_write},
    {"decr", 2, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &decr_cmd, "string",
     "Subtracts one from an integer string (an absent key counts as 0).", "1.0.0", "O(1)", acl_string_write},
    {"incrby", 3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &incrby_cmd, "string",
     "Adds an integer to an integer string (an absent key counts as 0).", "1.0.0", "O(1)", acl_string_write},
    {"decrby", 3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &decrby_cmd, "string",
     "Subtracts an integer from an integer string (an absent key counts as 0).", "1.0.0", "O(1)", acl_string_write},
    {"incrbyfloat", 3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &incrbyfloat_cmd, "string",
     "Adds a decimal number to a numeric string (an absent key counts as 0).", "2.6.0", "O(1)", acl_string_write},
    {"append", 3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &append_cmd, "string",
     "Adds bytes to the end of a string, creating it when absent; replies with the new length.", "2.0.0",
     "O(1) amortized: the string's buffer grows geometrically", acl_string_write},
    {"strlen", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &strlen_cmd, "string",
     "Replies with the length of a string in bytes (0 when absent).", "2.2.0", "O(1)", acl_string_read},
    {"getrange", 4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &getrange_cmd, "string",
     "Reads the bytes of a string between two offsets (negative ones count from the end).", "2.4.0",
     "O(N) for N bytes returned", "read string slow"},
    {"setrange", 4, cmd_write | cmd_denyoom, 1, 1, 1, cmd_kind::keyed, &setrange_cmd, "string",
     "Overwrites part of a string from an offset, padding with zero bytes, creating it when absent.", "2.2.0",
     "O(1) plus the copy of the new bytes (O(M) for M bytes)", "write string slow"},
};

} // namespace

std::span<const command_spec> string_commands() noexcept {
    return specs;
}

} // namespace percore::kv
