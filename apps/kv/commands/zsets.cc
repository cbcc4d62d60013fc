// Sorted set commands on members: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZRANK ZREVRANK ZPOPMIN ZPOPMAX.
// (The range queries are in zranges.cc.)
#include <cmath>
#include <string>
#include <vector>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

enum zadd_flags : unsigned {
    zadd_nx = 1,
    zadd_xx = 2,
    zadd_gt = 4,
    zadd_lt = 8,
    zadd_ch = 16,
    zadd_incr = 32,
};

/// ZADD's options from argv[2] on, up to the first argument that is none. \return the index of that argument
std::size_t parse_zadd_options(argv_t argv, unsigned& flags) {
    std::size_t i = 2;
    for (; i < argv.size(); ++i) {
        const std::string_view a = argv[i];
        if (iequals(a, "nx")) {
            flags |= zadd_nx;
        } else if (iequals(a, "xx")) {
            flags |= zadd_xx;
        } else if (iequals(a, "ch")) {
            flags |= zadd_ch;
        } else if (iequals(a, "incr")) {
            flags |= zadd_incr;
        } else if (iequals(a, "gt")) {
            flags |= zadd_gt;
        } else if (iequals(a, "lt")) {
            flags |= zadd_lt;
        } else {
            break;
        }
    }
    return i;
}

/// ZADD, and ZINCRBY (`flags` = zadd_incr). As in Redis, ZINCRBY goes through ZADD's option parser too, so
/// "ZINCRBY k nx m" is a syntax error rather than a bad float.
void zadd_generic(exec_context& ctx, argv_t argv, unsigned flags) {
    const std::size_t first = parse_zadd_options(argv, flags);
    const std::size_t rest = argv.size() - first;
    if (rest == 0 || rest % 2 != 0) {
        ctx.out.error(err_syntax);
        return;
    }
    const std::size_t pairs = rest / 2;
    const bool nx = (flags & zadd_nx) != 0;
    const bool xx = (flags & zadd_xx) != 0;
    const bool gt = (flags & zadd_gt) != 0;
    const bool lt = (flags & zadd_lt) != 0;
    const bool incr = (flags & zadd_incr) != 0;
    if (nx && xx) {
        ctx.out.error("ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((nx && (gt || lt)) || (gt && lt)) {
        ctx.out.error("ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && pairs > 1) {
        ctx.out.error("ERR INCR option supports a single increment-element pair");
        return;
    }
    // Every score is checked before anything changes: the command applies fully or not at all.
    double one_score = 0;
    std::vector<double> many_scores;
    double* scores = &one_score;
    if (pairs > 1) {
        many_scores.resize(pairs);
        scores = many_scores.data();
    }
    for (std::size_t j = 0; j < pairs; ++j) {
        if (!parse_double(argv[first + 2 * j], scores[j])) {
            ctx.out.error(err_not_float);
            return;
        }
    }
    const std::string_view key = argv[1];
    object* o = ctx.db.find(key);
    if (o != nullptr && o->type() != value_type::zset) {
        ctx.out.error(err_wrongtype);
        return;
    }
    std::int64_t added = 0;
    std::int64_t updated = 0;
    std::int64_t processed = 0;
    double last_score = 0;
    if (o == nullptr && !xx) {
        o = ctx.db.find_or_create(key, value_type::zset).first;
    }
    if (o != nullptr) {
        zset_value& z = o->zset();
        for (std::size_t j = 0; j < pairs; ++j) {
            const std::string_view member = argv[first + 2 * j + 1];
            double score = scores[j];
            const std::optional<double> current = z.score(member);
            if (!current) {
                if (!xx) {
                    z.set(member, score);
                    ++added;
                    ++processed;
                    last_score = score;
                }
                continue;
            }
            if (nx) {
                continue;
            }
            if (incr) {
                score += *current;
                if (std::isnan(score)) {
                    ctx.out.error("ERR resulting score is not a number (NaN)");
                    return; // INCR takes one pair: nothing changed
                }
            }
            if ((lt && score >= *current) || (gt && score <= *current)) {
                continue;
            }
            ++processed;
            last_score = score;
            if (score != *current) {
                z.set(member, score);
                ++updated;
            }
        }
        if (added + updated > 0) {
            ctx.db.modified(key);
        }
    }
    if (incr) {
        if (processed > 0) {
            ctx.out.dbl(last_score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.integer((flags & zadd_ch) != 0 ? added + updated : added);
    }
}

void zadd_cmd(exec_context& ctx, argv_t argv) {
    zadd_generic(ctx, argv, 0);
}
void zincrby_cmd(exec_context& ctx, argv_t argv) {
    zadd_generic(ctx, argv, zadd_incr);
}

void zrem_cmd(exec_context& ctx, argv_t argv) {
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::zset, wrong);
    if (wrong) {
        return;
    }
    std::int64_t removed = 0;
    if (o != nullptr) {
        for (std::size_t i = 2; i < argv.size(); ++i) {
            removed += o->zset().remove(argv[i]) ? 1 : 0;
        }
        if (removed > 0) {
            aggregate_changed(ctx, key, *o);
        }
    }
    ctx.out.integer(removed);
}

void zscore_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (wrong) {
        return;
    }
    const auto score = o == nullptr ? std::nullopt : o->zset().score(argv[2]);
    if (score) {
        ctx.out.dbl(*score);
    } else {
        ctx.out.null();
    }
}

void zmscore_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (wrong) {
        return;
    }
    ctx.out.array(argv.size() - 2);
    for (std::size_t i = 2; i < argv.size(); ++i) {
        const auto score = o == nullptr ? std::nullopt : o->zset().score(argv[i]);
        if (score) {
            ctx.out.dbl(*score);
        } else {
            ctx.out.null();
        }
    }
}

void zcard_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(o->zset().size()));
    }
}

/// ZRANK, and ZREVRANK (`reverse`): the 0-based position, or null for a missing member.
void zrank_generic(exec_context& ctx, argv_t argv, bool reverse) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (wrong) {
        return;
    }
    const auto score = o == nullptr ? std::nullopt : o->zset().score(argv[2]);
    if (!score) {
        ctx.out.null();
        return;
    }
    const std::size_t rank = o->zset().rank(argv[2], *score);
    ctx.out.integer(static_cast<std::int64_t>(reverse ? o->zset().size() - 1 - rank : rank));
}

void zrank_cmd(exec_context& ctx, argv_t argv) {
    zrank_generic(ctx, argv, false);
}
void zrevrank_cmd(exec_context& ctx, argv_t argv) {
    zrank_generic(ctx, argv, true);
}

/// ZPOPMIN and ZPOPMAX (`highest`). Without a count (or in RESP2) the reply is a flat array member, score...;
/// with a count in RESP3 it is an array of [member, score] pairs.
void zpop_generic(exec_context& ctx, argv_t argv, bool highest) {
    if (argv.size() > 3) {
        ctx.out.error(err_syntax);
        return;
    }
    const bool has_count = argv.size() == 3;
    std::int64_t count = 1;
    if (has_count && !count_arg(ctx, argv[2], count)) {
        return;
    }
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::zset, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr || count == 0) {
        ctx.out.array(0);
        return;
    }
    zset_value& z = o->zset();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(static_cast<std::uint64_t>(count), z.size()));
    const bool pairs = has_count && ctx.out.protocol() >= 3;
    ctx.out.array(pairs ? n : 2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        const zentry e = z.pop(highest);
        if (pairs) {
            ctx.out.array(2);
        }
        ctx.out.bulk(e.member);
        ctx.out.dbl(e.score);
    }
    aggregate_changed(ctx, key, *o);
}

void zpopmin_cmd(exec_context& ctx, argv_t argv) {
    zpop_generic(ctx, argv, false);
}
void zpopmax_cmd(exec_context& ctx, argv_t argv) {
    zpop_generic(ctx, argv, true);
}

constexpr std::string_view zset_doc = "sorted-set";
constexpr std::string_view acl_zset_read = "read sortedset fast";
constexpr std::string_view acl_zset_write = "write sortedset fast";

const command_spec specs[] = {
    {"zadd", -4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zadd_cmd, zset_doc,
     "Adds members with scores to a sorted set or changes their scores, creating the set if needed.", "1.2.0",
     "O(log N) per member given, N being the size of the sorted set.", acl_zset_write},
    {"zincrby", 4, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zincrby_cmd, zset_doc,
     "Adds a number to the score of a member of a sorted set (a missing member starts at 0).", "1.2.0",
     "O(log N), N being the size of the sorted set.", acl_zset_write},
    {"zrem", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zrem_cmd, zset_doc,
     "Removes members from a sorted set; the set is deleted once empty.", "1.2.0",
     "O(M log N), M being the number of members given and N the size of the sorted set.", acl_zset_write},
    {"zscore", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zscore_cmd, zset_doc,
     "Returns the score of a member of a sorted set.", "1.2.0", "O(1)", acl_zset_read},
    {"zmscore", -3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zmscore_cmd, zset_doc,
     "Returns the scores of several members of a sorted set.", "6.2.0",
     "O(N), N being the number of members asked for.", acl_zset_read},
    {"zcard", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zcard_cmd, zset_doc,
     "Returns the number of members of a sorted set.", "1.2.0", "O(1)", acl_zset_read},
    {"zrank", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zrank_cmd, zset_doc,
     "Returns the position of a member in a sorted set, lowest score first.", "2.0.0",
     "O(log N), N being the size of the sorted set.", acl_zset_read},
    {"zrevrank", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zrevrank_cmd, zset_doc,
     "Returns the position of a member in a sorted set, highest score first.", "2.0.0",
     "O(log N), N being the size of the sorted set.", acl_zset_read},
    {"zpopmin", -2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zpopmin_cmd, zset_doc,
     "Removes and returns the members of lowest score of a sorted set; the set is deleted once empty.", "5.0.0",
     "O(M log N), M being the number of members popped and N the size of the sorted set.", acl_zset_write},
    {"zpopmax", -2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zpopmax_cmd, zset_doc,
     "Removes and returns the members of highest score of a sorted set; the set is deleted once empty.", "5.0.0",
     "O(M log N), M being the number of members popped and N the size of the sorted set.", acl_zset_write},
};

} // namespace

std::span<const command_spec> zset_commands() noexcept {
    return specs;
}

} // namespace percore::kv
