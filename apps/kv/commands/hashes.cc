// Hash commands: HSET HMSET HSETNX HGET HMGET HDEL HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN HINCRBY HINCRBYFLOAT.
#include <cmath>
#include <string>

#include <climits>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

/// The hash at `key`, created empty when absent; null (WRONGTYPE replied) for another type.
/// \pre the caller adds a field right away: an empty hash must not stay behind
hash_value* hash_for_write(exec_context& ctx, std::string_view key) {
    object* o = ctx.db.find_or_create(key, value_type::hash).first;
    if (o->type() != value_type::hash) {
        ctx.out.error(err_wrongtype);
        return nullptr;
    }
    return &o->hash();
}

/// Sets `field` to `value`. \return whether the field is new
bool set_field(hash_value& h, std::string_view field, std::string_view value) {
    auto it = h.find(field);
    if (it != h.end()) {
        it->second = value;
        return false;
    }
    h.emplace(std::string(field), std::string(value));
    return true;
}

/// HSET (the number of new fields) and HMSET (OK).
void hset_generic(exec_context& ctx, argv_t argv, bool reply_ok) {
    if (argv.size() % 2 == 1) {
        ctx.out.error(arity_error(reply_ok ? "hmset" : "hset"));
        return;
    }
    hash_value* h = hash_for_write(ctx, argv[1]);
    if (h == nullptr) {
        return;
    }
    std::int64_t created = 0;
    for (std::size_t i = 2; i < argv.size(); i += 2) {
        created += set_field(*h, argv[i], argv[i + 1]) ? 1 : 0;
    }
    ctx.db.modified(argv[1]);
    if (reply_ok) {
        ctx.out.ok();
    } else {
        ctx.out.integer(created);
    }
}

void hset_cmd(exec_context& ctx, argv_t argv) {
    hset_generic(ctx, argv, false);
}
void hmset_cmd(exec_context& ctx, argv_t argv) {
    hset_generic(ctx, argv, true);
}

void hsetnx_cmd(exec_context& ctx, argv_t argv) {
    hash_value* h = hash_for_write(ctx, argv[1]);
    if (h == nullptr) {
        return;
    }
    if (h->find(argv[2]) != h->end()) {
        ctx.out.integer(0);
        return;
    }
    h->emplace(std::string(argv[2]), std::string(argv[3]));
    ctx.db.modified(argv[1]);
    ctx.out.integer(1);
}

/// The field's value, or null when the hash or the field is missing.
const std::string* field_of(const object* o, std::string_view field) {
    if (o == nullptr) {
        return nullptr;
    }
    auto it = o->hash().find(field);
    return it == o->hash().end() ? nullptr : &it->second;
}

void hget_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::hash, wrong);
    if (wrong) {
        return;
    }
    if (const std::string* v = field_of(o, argv[2])) {
        ctx.out.bulk(*v);
    } else {
        ctx.out.null();
    }
}

void hmget_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::hash, wrong);
    if (wrong) {
        return;
    }
    ctx.out.array(argv.size() - 2);
    for (std::size_t i = 2; i < argv.size(); ++i) {
        if (const std::string* v = field_of(o, argv[i])) {
            ctx.out.bulk(*v);
        } else {
            ctx.out.null();
        }
    }
}

void hdel_cmd(exec_context& ctx, argv_t argv) {
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::hash, wrong);
    if (wrong) {
        return;
    }
    std::int64_t deleted = 0;
    if (o != nullptr) {
        hash_value& h = o->hash();
        for (std::size_t i = 2; i < argv.size(); ++i) {
            auto it = h.find(argv[i]);
            if (it != h.end()) {
                h.erase(it);
                ++deleted;
            }
        }
        if (deleted > 0) {
            aggregate_changed(ctx, key, *o);
        }
    }
    ctx.out.integer(deleted);
}

enum class hash_part { fields, values, both };

/// HGETALL (a map), HKEYS and HVALS (arrays).
void hash_dump(exec_context& ctx, argv_t argv, hash_part part) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::hash, wrong);
    if (wrong) {
        return;
    }
    const std::size_t n = o == nullptr ? 0 : o->hash().size();
    if (part == hash_part::both) {
        ctx.out.map(n);
    } else {
        ctx.out.array(n);
    }
    if (o == nullptr) {
        return;
    }
    for (const auto& [field, value] : o->hash()) {
        if (part != hash_part::values) {
            ctx.out.bulk(field);
        }
        if (part != hash_part::fields) {
            ctx.out.bulk(value);
        }
    }
}

void hgetall_cmd(exec_context& ctx, argv_t argv) {
    hash_dump(ctx, argv, hash_part::both);
}
void hkeys_cmd(exec_context& ctx, argv_t argv) {
    hash_dump(ctx, argv, hash_part::fields);
}
void hvals_cmd(exec_context& ctx, argv_t argv) {
    hash_dump(ctx, argv, hash_part::values);
}

void hlen_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::hash, wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(o->hash().size()));
    }
}

void hexists_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::hash, wrong);
    if (!wrong) {
        ctx.out.integer(field_of(o, argv[2]) != nullptr ? 1 : 0);
    }
}

void hstrlen_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::hash, wrong);
    if (!wrong) {
        const std::string* v = field_of(o, argv[2]);
        ctx.out.integer(v == nullptr ? 0 : static_cast<std::int64_t>(v->size()));
    }
}

void hincrby_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t by = 0;
    if (!int_arg(ctx, argv[3], by)) {
        return;
    }
    hash_value* h = hash_for_write(ctx, argv[1]);
    if (h == nullptr) {
        return;
    }
    auto it = h->find(argv[2]);
    std::int64_t v = 0;
    if (it != h->end() && !parse_int(it->second, v)) {
        ctx.out.error("ERR hash value is not an integer");
        return;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        ctx.out.error(err_overflow);
        return;
    }
    v += by;
    set_field(*h, argv[2], std::to_string(v));
    ctx.db.modified(argv[1]);
    ctx.out.integer(v);
}

void hincrbyfloat_cmd(exec_context& ctx, argv_t argv) {
    long double by = 0;
    if (!parse_long_double(argv[3], by)) {
        ctx.out.error(err_not_float);
        return;
    }
    if (std::isinf(by)) {
        ctx.out.error("ERR value is NaN or Infinity");
        return;
    }
    hash_value* h = hash_for_write(ctx, argv[1]);
    if (h == nullptr) {
        return;
    }
    auto it = h->find(argv[2]);
    long double v = 0;
    if (it != h->end() && !parse_long_double(it->second, v)) {
        ctx.out.error("ERR hash value is not a float");
        return;
    }
    v += by;
    if (std::isnan(v) || std::isinf(v)) {
        ctx.out.error("ERR increment would produce NaN or Infinity");
        return;
    }
    std::string text = format_long_double(v);
    ctx.out.bulk(text);
    set_field(*h, argv[2], text);
    ctx.db.modified(argv[1]);
}

constexpr std::string_view hash_doc = "hash";
constexpr std::string_view acl_hash_read = "read hash fast";
constexpr std::string_view acl_hash_write = "write hash fast";

const command_spec specs[] = {
    {"hset", -4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hset_cmd, hash_doc,
     "Sets fields of a hash, creating the hash if needed; returns how many fields are new.", "2.0.0",
     "O(1) per field, O(N) for N fields.", acl_hash_write},
    {"hmset", -4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hmset_cmd, hash_doc,
     "Sets fields of a hash, creating the hash if needed (the older form of HSET, replying OK).", "2.0.0",
     "O(1) per field, O(N) for N fields.", acl_hash_write},
    {"hsetnx", 4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hsetnx_cmd, hash_doc,
     "Sets a field of a hash only if the field is absent.", "2.0.0", "O(1)", acl_hash_write},
    {"hget", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hget_cmd, hash_doc,
     "Returns the value of a field of a hash.", "2.0.0", "O(1)", acl_hash_read},
    {"hmget", -3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hmget_cmd, hash_doc,
     "Returns the values of several fields of a hash.", "2.0.0", "O(N), N being the number of fields asked for.",
     acl_hash_read},
    {"hdel", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hdel_cmd, hash_doc,
     "Removes fields from a hash; the hash is deleted once empty.", "2.0.0",
     "O(N), N being the number of fields removed.", acl_hash_write},
    {"hgetall", 2, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &hgetall_cmd, hash_doc,
     "Returns every field of a hash with its value.", "2.0.0", "O(N), N being the size of the hash.", "read hash slow"},
    {"hkeys", 2, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &hkeys_cmd, hash_doc, "Returns every field name of a hash.",
     "2.0.0", "O(N), N being the size of the hash.", "read hash slow"},
    {"hvals", 2, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &hvals_cmd, hash_doc, "Returns every value of a hash.",
     "2.0.0", "O(N), N being the size of the hash.", "read hash slow"},
    {"hlen", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hlen_cmd, hash_doc,
     "Returns the number of fields of a hash.", "2.0.0", "O(1)", acl_hash_read},
    {"hexists", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hexists_cmd, hash_doc,
     "Tells whether a field exists in a hash.", "2.0.0", "O(1)", acl_hash_read},
    {"hstrlen", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hstrlen_cmd, hash_doc,
     "Returns the length in bytes of the value of a field of a hash.", "3.2.0", "O(1)", acl_hash_read},
    {"hincrby", 4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hincrby_cmd, hash_doc,
     "Adds an integer to the integer value of a field of a hash (a missing field counts as 0).", "2.0.0", "O(1)",
     acl_hash_write},
    {"hincrbyfloat", 4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &hincrbyfloat_cmd, hash_doc,
     "Adds a decimal number to the numeric value of a field of a hash (a missing field counts as 0).", "2.6.0", "O(1)",
     acl_hash_write},
};

} // namespace

std::span<const command_spec> hash_commands() noexcept {
    return specs;
}

} // namespace percore::kv
