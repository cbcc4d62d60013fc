// Sorted set range queries: ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) and its older forms ZREVRANGE
// ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX; ZCOUNT, ZLEXCOUNT.
#include <algorithm>
#include <optional>
#include <utility>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"
#include "apps/kv/commands/zset_range.hh"

namespace percore::kv {

namespace {

constexpr std::string_view err_score_range = "ERR min or max is not a float";
constexpr std::string_view err_lex_range = "ERR min or max not valid string range item";

enum class range_by : std::uint8_t { unset, rank, score, lex };

/// Replies the walk's elements: members, and with `withscores` their scores (RESP3: [member, score] pairs).
void reply_walk(exec_context& ctx, const zset_value& z, zrange_walk w, bool reverse, bool withscores) {
    const bool pairs = withscores && ctx.out.protocol() >= 3;
    ctx.out.array(withscores && !pairs ? 2 * w.count : w.count);
    if (w.count == 0) {
        return;
    }
    auto it = z.at_rank(w.from);
    for (std::size_t i = 0; i < w.count; ++i) {
        if (i > 0) {
            if (reverse) {
                --it;
            } else {
                ++it;
            }
        }
        if (pairs) {
            ctx.out.array(2);
        }
        ctx.out.bulk(it->member);
        if (withscores) {
            ctx.out.dbl(it->score);
        }
    }
}

/// Redis's start/stop ranks (negative: from the end) as a walk over `len` elements.
zrange_walk rank_walk(std::int64_t start, std::int64_t stop, std::size_t len, bool reverse) {
    const auto n = static_cast<std::int64_t>(len);
    if (start < 0) {
        start += n;
    }
    if (stop < 0) {
        stop += n;
    }
    start = std::max<std::int64_t>(start, 0);
    if (start > stop || start >= n) {
        return {};
    }
    stop = std::min(stop, n - 1);
    const auto count = static_cast<std::size_t>(stop - start + 1);
    return {reverse ? len - 1 - static_cast<std::size_t>(start) : static_cast<std::size_t>(start), count};
}

/// Every form of ZRANGE. `by` and `reverse` are what the command's name fixes (ZRANGE fixes neither: its options
/// choose), and an option repeating a fixed choice is a syntax error, as in Redis.
void zrange_generic(exec_context& ctx, argv_t argv, range_by by, std::optional<bool> reverse) {
    bool withscores = false;
    range_limit limit;
    for (std::size_t j = 4; j < argv.size(); ++j) {
        const std::string_view a = argv[j];
        const std::size_t left = argv.size() - j - 1;
        if (iequals(a, "withscores")) {
            withscores = true;
        } else if (iequals(a, "limit") && left >= 2) {
            if (!int_arg(ctx, argv[j + 1], limit.offset) || !int_arg(ctx, argv[j + 2], limit.count)) {
                return;
            }
            j += 2;
        } else if (!reverse && iequals(a, "rev")) {
            reverse = true;
        } else if (by == range_by::unset && iequals(a, "bylex")) {
            by = range_by::lex;
        } else if (by == range_by::unset && iequals(a, "byscore")) {
            by = range_by::score;
        } else {
            ctx.out.error(err_syntax);
            return;
        }
    }
    if (by == range_by::unset) {
        by = range_by::rank;
    }
    const bool rev = reverse.value_or(false);
    // Redis tells a LIMIT apart by its count: "LIMIT 5 -1" passes with ranks (and changes nothing).
    if (limit.count != -1 && by == range_by::rank) {
        ctx.out.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && by == range_by::lex) {
        ctx.out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    // Score and lex ranges are given high end first when reversed; ranks never are.
    std::string_view low = argv[2];
    std::string_view high = argv[3];
    if (rev && by != range_by::rank) {
        std::swap(low, high);
    }
    std::int64_t start = 0;
    std::int64_t stop = 0;
    score_bound score_min;
    score_bound score_max;
    lex_bound lex_min;
    lex_bound lex_max;
    switch (by) {
    case range_by::unset:
    case range_by::rank:
        if (!int_arg(ctx, low, start) || !int_arg(ctx, high, stop)) {
            return;
        }
        break;
    case range_by::score:
        if (!parse_score_bound(low, score_min) || !parse_score_bound(high, score_max)) {
            ctx.out.error(err_score_range);
            return;
        }
        break;
    case range_by::lex:
        if (!parse_lex_bound(low, lex_min) || !parse_lex_bound(high, lex_max)) {
            ctx.out.error(err_lex_range);
            return;
        }
        break;
    }
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.array(0);
        return;
    }
    const zset_value& z = o->zset();
    zrange_walk w;
    switch (by) {
    case range_by::unset:
    case range_by::rank:
        w = rank_walk(start, stop, z.size(), rev);
        break;
    case range_by::score:
        w = score_walk(z, score_min, score_max, limit, rev);
        break;
    case range_by::lex:
        w = lex_walk(z, lex_min, lex_max, limit, rev);
        break;
    }
    reply_walk(ctx, z, w, rev, withscores);
}

void zrange_cmd(exec_context& ctx, argv_t argv) {
    zrange_generic(ctx, argv, range_by::unset, std::nullopt);
}
void zrevrange_cmd(exec_context& ctx, argv_t argv) {
    zrange_generic(ctx, argv, range_by::rank, true);
}
void zrangebyscore_cmd(exec_context& ctx, argv_t argv) {
    zrange_generic(ctx, argv, range_by::score, false);
}
void zrevrangebyscore_cmd(exec_context& ctx, argv_t argv) {
    zrange_generic(ctx, argv, range_by::score, true);
}
void zrangebylex_cmd(exec_context& ctx, argv_t argv) {
    zrange_generic(ctx, argv, range_by::lex, false);
}
void zrevrangebylex_cmd(exec_context& ctx, argv_t argv) {
    zrange_generic(ctx, argv, range_by::lex, true);
}

void zcount_cmd(exec_context& ctx, argv_t argv) {
    score_bound min;
    score_bound max;
    if (!parse_score_bound(argv[2], min) || !parse_score_bound(argv[3], max)) {
        ctx.out.error(err_score_range);
        return;
    }
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(score_walk(o->zset(), min, max, {}).count));
    }
}

void zlexcount_cmd(exec_context& ctx, argv_t argv) {
    lex_bound min;
    lex_bound max;
    if (!parse_lex_bound(argv[2], min) || !parse_lex_bound(argv[3], max)) {
        ctx.out.error(err_lex_range);
        return;
    }
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::zset, wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(lex_walk(o->zset(), min, max, {}).count));
    }
}

constexpr std::string_view zset_doc = "sorted-set";
constexpr std::string_view acl_zrange = "read sortedset slow";
constexpr std::string_view range_complexity =
    "O(log N + M), N being the size of the sorted set and M the number of members returned.";

const command_spec specs[] = {
    {"zrange", -4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &zrange_cmd, zset_doc,
     "Returns the members of a sorted set within a range of positions, scores or members, in either order.", "1.2.0",
     range_complexity, acl_zrange},
    {"zrevrange", -4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &zrevrange_cmd, zset_doc,
     "Returns the members of a sorted set within a range of positions, highest score first (ZRANGE ... REV).", "1.2.0",
     range_complexity, acl_zrange},
    {"zrangebyscore", -4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &zrangebyscore_cmd, zset_doc,
     "Returns the members of a sorted set within a range of scores (ZRANGE ... BYSCORE).", "1.0.5", range_complexity,
     acl_zrange},
    {"zrevrangebyscore", -4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &zrevrangebyscore_cmd, zset_doc,
     "Returns the members of a sorted set within a range of scores, highest first (ZRANGE ... BYSCORE REV).", "2.2.0",
     range_complexity, acl_zrange},
    {"zrangebylex", -4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &zrangebylex_cmd, zset_doc,
     "Returns the members of a sorted set within a range of members in byte order (ZRANGE ... BYLEX).", "2.8.9",
     range_complexity, acl_zrange},
    {"zrevrangebylex", -4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &zrevrangebylex_cmd, zset_doc,
     "Returns the members of a sorted set within a range of members, in reverse byte order (ZRANGE ... BYLEX "
     "REV).",
     "2.8.9", range_complexity, acl_zrange},
    {"zcount", 4, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zcount_cmd, zset_doc,
     "Counts the members of a sorted set within a range of scores.", "2.0.0",
     "O(log N), N being the size of the sorted set.", "read sortedset fast"},
    {"zlexcount", 4, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &zlexcount_cmd, zset_doc,
     "Counts the members of a sorted set within a range of members in byte order.", "2.8.9",
     "O(log N), N being the size of the sorted set.", "read sortedset fast"},
};

} // namespace

std::span<const command_spec> zset_range_commands() noexcept {
    return specs;
}

} // namespace percore::kv
