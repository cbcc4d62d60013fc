/// \file
/// \brief Score and lex ranges of sorted sets (ZCOUNT, ZRANGEBYSCORE, ZRANGEBYLEX, ZRANGE BYSCORE|BYLEX...): their
/// bounds as Redis parses them, and where a range query's elements are.
///
/// \code
/// score_bound min, max;
/// if (parse_score_bound("(1", min) && parse_score_bound("+inf", max)) {
///     zrange_walk w = score_walk(z, min, max, {});   // every element scoring above 1
///     for (auto it = z.at_rank(w.from); w.count-- > 0; ++it) { ... }
/// }
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "apps/kv/zset.hh"

namespace percore::kv {

/// "1.5", "(1.5" (exclusive), "-inf", "+inf"...
struct score_bound {
    double value = 0;
    bool exclusive = false;
};

/// Parses a score bound as Redis does: strtod's syntax on the whole argument (leading spaces, hex, "inf" and an
/// empty number are accepted), NaN refused. \return false: Redis's "min or max is not a float"
[[nodiscard]] bool parse_score_bound(std::string_view s, score_bound& out);

/// "[m" (inclusive), "(m" (exclusive), "-" (below every member), "+" (above every member).
struct lex_bound {
    enum class kind : std::uint8_t { member, lowest, highest };
    kind k = kind::member;
    std::string_view member; ///< points into the argument
    bool exclusive = false;
};

/// \return false: Redis's "min or max not valid string range item"
[[nodiscard]] bool parse_lex_bound(std::string_view s, lex_bound& out);

/// LIMIT offset count of a range query (count < 0: no limit; offset < 0: nothing).
struct range_limit {
    std::int64_t offset = 0;
    std::int64_t count = -1;
};

/// A range query's answer: `count` elements from rank `from`, walking up (or down, for a reverse query).
struct zrange_walk {
    std::size_t from = 0;
    std::size_t count = 0;
};

/// The elements scoring within [min, max], lowest first (or, `reverse`, highest first), after LIMIT.
[[nodiscard]] zrange_walk score_walk(const zset_value& z, score_bound min, score_bound max, range_limit limit,
                                     bool reverse = false);

/// The elements whose member is within [min, max], after LIMIT. Lex ranges are meant for elements of one score;
/// with several scores the answer is the one Redis gives for a small (compactly encoded) sorted set.
[[nodiscard]] zrange_walk lex_walk(const zset_value& z, const lex_bound& min, const lex_bound& max, range_limit limit,
                                   bool reverse = false);

} // namespace percore::kv
