#include "apps/kv/commands/zset_range.hh"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace percore::kv {

bool parse_score_bound(std::string_view s, score_bound& out) {
    out.exclusive = !s.empty() && s[0] == '(';
    if (out.exclusive) {
        s.remove_prefix(1);
    }
    // strtod wants a terminated string; bounds are short, so a stack copy nearly always does.
    char small[64];
    std::string large;
    const char* text = small;
    if (s.size() < sizeof small) {
        std::memcpy(small, s.data(), s.size());
        small[s.size()] = '\0';
    } else {
        large.assign(s);
        text = large.c_str();
    }
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    // As Redis: parsing stops at the first NUL byte, and an out-of-range number is accepted as +-inf (or 0).
    if (*end != '\0' || std::isnan(v)) {
        return false;
    }
    out.value = v;
    return true;
}

bool parse_lex_bound(std::string_view s, lex_bound& out) {
    if (s.empty()) {
        return false;
    }
    // "+" and "-" stand alone (Redis looks at the byte after them as a C string: a NUL ends it there too).
    const bool alone = s.size() == 1 || s[1] == '\0';
    switch (s[0]) {
    case '+':
        out = {lex_bound::kind::highest, {}, true};
        return alone;
    case '-':
        out = {lex_bound::kind::lowest, {}, true};
        return alone;
    case '(':
        out = {lex_bound::kind::member, s.substr(1), true};
        return true;
    case '[':
        out = {lex_bound::kind::member, s.substr(1), false};
        return true;
    default:
        return false;
    }
}

namespace {

zrange_walk apply_limit(std::size_t first, std::size_t last, range_limit limit, bool reverse) {
    if (last <= first || limit.offset < 0 || static_cast<std::uint64_t>(limit.offset) >= last - first) {
        return {};
    }
    const auto offset = static_cast<std::size_t>(limit.offset);
    std::size_t n = last - first - offset;
    if (limit.count >= 0) {
        n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(limit.count));
    }
    return {reverse ? last - 1 - offset : first + offset, n};
}

bool above_min(std::string_view m, const lex_bound& min) {
    switch (min.k) {
    case lex_bound::kind::lowest:
        return true;
    case lex_bound::kind::highest:
        return false;
    case lex_bound::kind::member:
        break;
    }
    return min.exclusive ? m > min.member : m >= min.member;
}

bool below_max(std::string_view m, const lex_bound& max) {
    switch (max.k) {
    case lex_bound::kind::lowest:
        return false;
    case lex_bound::kind::highest:
        return true;
    case lex_bound::kind::member:
        break;
    }
    return max.exclusive ? m < max.member : m <= max.member;
}

/// Whether no member can lie within [min, max] ("-" and "+" count as exclusive, as in Redis).
bool lex_range_empty(const lex_bound& min, const lex_bound& max) {
    int cmp = static_cast<int>(min.k == lex_bound::kind::member   ? 1
                               : min.k == lex_bound::kind::lowest ? 0
                                                                  : 2) -
              static_cast<int>(max.k == lex_bound::kind::member   ? 1
                               : max.k == lex_bound::kind::lowest ? 0
                                                                  : 2);
    if (cmp == 0 && min.k == lex_bound::kind::member) {
        cmp = min.member.compare(max.member);
    }
    return cmp > 0 || (cmp == 0 && (min.exclusive || max.exclusive));
}

/// The walk over a sorted set of several scores: the linear scan Redis runs on a compactly encoded one, which
/// starts at the first element (from the chosen end) inside the bound of that end and stops at the first one
/// outside the other bound.
zrange_walk lex_walk_mixed(const zset_value& z, const lex_bound& min, const lex_bound& max, range_limit limit,
                           bool reverse) {
    const std::size_t n = z.size();
    // Redis gives up at once unless the last element is not below min and the first is not above max.
    if (!above_min(std::prev(z.end())->member, min) || !below_max(z.begin()->member, max) || limit.offset < 0) {
        return {};
    }
    const auto offset = static_cast<std::uint64_t>(limit.offset);
    const auto more = [&](std::size_t count) {
        return limit.count < 0 || count < static_cast<std::uint64_t>(limit.count);
    };
    zrange_walk w;
    if (!reverse) {
        std::size_t i = 0;
        auto it = z.begin();
        while (!above_min(it->member, min)) { // ends: the last element is above min
            ++it;
            ++i;
        }
        if (!below_max(it->member, max) || offset >= n - i) {
            return {};
        }
        w.from = i + static_cast<std::size_t>(offset);
        for (it = z.at_rank(w.from); it != z.end() && more(w.count) && below_max(it->member, max); ++it) {
            ++w.count;
        }
        return w;
    }
    std::size_t i = n - 1;
    auto it = std::prev(z.end());
    while (!below_max(it->member, max)) { // ends: the first element is below max
        --it;
        --i;
    }
    if (!above_min(it->member, min) || offset > i) {
        return {};
    }
    w.from = i - static_cast<std::size_t>(offset);
    it = z.at_rank(w.from);
    for (;;) {
        if (!more(w.count) || !above_min(it->member, min)) {
            break;
        }
        ++w.count;
        if (it == z.begin()) {
            break;
        }
        --it;
    }
    return w;
}

} // namespace

zrange_walk score_walk(const zset_value& z, score_bound min, score_bound max, range_limit limit, bool reverse) {
    const std::size_t first = z.count_below(min.value, min.exclusive);
    const std::size_t last = z.count_below(max.value, !max.exclusive);
    return apply_limit(first, last, limit, reverse);
}

zrange_walk lex_walk(const zset_value& z, const lex_bound& min, const lex_bound& max, range_limit limit, bool reverse) {
    if (z.size() == 0 || lex_range_empty(min, max)) {
        return {};
    }
    const double score = z.begin()->score;
    if (std::prev(z.end())->score != score) {
        return lex_walk_mixed(z, min, max, limit, reverse);
    }
    // One score: members are in byte order, so both ends are found by rank in O(log n).
    auto rank_of = [&](const lex_bound& b, bool inclusive_end) -> std::size_t {
        switch (b.k) {
        case lex_bound::kind::lowest:
            return 0;
        case lex_bound::kind::highest:
            return z.size();
        case lex_bound::kind::member:
            break;
        }
        return z.count_before(score, b.member, inclusive_end);
    };
    const std::size_t first = rank_of(min, min.exclusive);
    const std::size_t last = rank_of(max, !max.exclusive);
    return apply_limit(first, last, limit, reverse);
}

} // namespace percore::kv
