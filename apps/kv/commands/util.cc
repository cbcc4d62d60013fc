#include "apps/kv/commands/util.hh"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace percore::kv {

bool parse_int(std::string_view s, std::int64_t& out) noexcept {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    std::size_t i = 0;
    bool negative = false;
    if (s[0] == '-') {
        negative = true;
        i = 1;
        if (s.size() == 1) {
            return false;
        }
    }
    if (s[i] == '0') {
        if (s.size() == 1) {
            out = 0;
            return true;
        }
        return false;
    }
    std::uint64_t v = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') {
            return false;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (negative) {
        if (v > max + 1) {
            return false;
        }
        out = static_cast<std::int64_t>(0 - v);
    } else {
        if (v > max) {
            return false;
        }
        out = static_cast<std::int64_t>(v);
    }
    return true;
}

bool parse_long_double(std::string_view s, long double& out) noexcept {
    // As Redis's string2ld: at most 5k chars, no leading space, the whole string, not NaN.
    if (s.empty() || s.size() >= 5 * 1024 || std::isspace(static_cast<unsigned char>(s[0]))) {
        return false;
    }
    char buf[5 * 1024 + 1];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    char* end = nullptr;
    errno = 0;
    const long double v = std::strtold(buf, &end);
    if (end != buf + s.size() || errno == ERANGE || std::isnan(v)) {
        return false;
    }
    out = v;
    return true;
}

bool parse_double(std::string_view s, double& out) noexcept {
    // As Redis's getDoubleFromObject: no leading space, the whole string, not NaN (inf is allowed).
    if (s.empty() || s.size() >= 256 || std::isspace(static_cast<unsigned char>(s[0]))) {
        return false;
    }
    char buf[257];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(buf, &end);
    if (end != buf + s.size() || (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) || std::isnan(v)) {
        return false;
    }
    out = v;
    return true;
}

std::string format_long_double(long double v) {
    if (std::isinf(v)) {
        return v > 0 ? "inf" : "-inf";
    }
    char buf[5 * 1024];
    int n = std::snprintf(buf, sizeof buf, "%.17Lf", v);
    std::string s(buf, static_cast<std::size_t>(n));
    if (s.find('.') != std::string::npos) {
        while (!s.empty() && s.back() == '0') {
            s.pop_back();
        }
        if (!s.empty() && s.back() == '.') {
            s.pop_back();
        }
    }
    if (s == "-0") {
        s = "0";
    }
    return s;
}

bool iequals(std::string_view a, std::string_view lower) noexcept {
    if (a.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c + ('a' - 'A'));
        }
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

namespace {
char fold(char c, bool nocase) noexcept {
    return nocase && c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// Redis's stringmatchlen_impl, with the same recursion guard against pathological patterns.
bool match_impl(const char* p, std::size_t plen, const char* s, std::size_t slen, bool nocase, int& skip_longer,
                int nesting) noexcept {
    if (nesting > 1000) {
        return false;
    }
    while (plen > 0 && slen > 0) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                ++p;
                --plen;
            }
            if (plen == 1) {
                return true;
            }
            while (slen > 0) {
                if (match_impl(p + 1, plen - 1, s, slen, nocase, skip_longer, nesting + 1)) {
                    return true;
                }
                if (skip_longer) {
                    return false;
                }
                ++s;
                --slen;
            }
            skip_longer = 1;
            return false;
        case '?':
            ++s;
            --slen;
            break;
        case '[': {
            ++p;
            --plen;
            const bool negate = plen > 0 && p[0] == '^';
            if (negate) {
                ++p;
                --plen;
            }
            bool matched = false;
            for (;;) {
                if (plen == 0) {
                    break;
                }
                if (p[0] == '\\' && plen >= 2) {
                    ++p;
                    --plen;
                    if (p[0] == s[0]) {
                        matched = true;
                    }
                } else if (p[0] == ']') {
                    break;
                } else if (plen >= 3 && p[1] == '-') {
                    char start = fold(p[0], nocase);
                    char end = fold(p[2], nocase);
                    const char c = fold(s[0], nocase);
                    if (start > end) {
                        std::swap(start, end);
                    }
                    p += 2;
                    plen -= 2;
                    if (c >= start && c <= end) {
                        matched = true;
                    }
                } else if (fold(p[0], nocase) == fold(s[0], nocase)) {
                    matched = true;
                }
                ++p;
                --plen;
            }
            if (plen == 0) {
                // A missing ']' is treated as if it closed the set here.
                ++plen;
                --p;
            }
            if (negate) {
                matched = !matched;
            }
            if (!matched) {
                return false;
            }
            ++s;
            --slen;
            break;
        }
        case '\\':
            if (plen >= 2) {
                ++p;
                --plen;
            }
            [[fallthrough]];
        default:
            if (fold(p[0], nocase) != fold(s[0], nocase)) {
                return false;
            }
            ++s;
            --slen;
            break;
        }
        ++p;
        --plen;
        if (slen == 0) {
            while (plen > 0 && *p == '*') {
                ++p;
                --plen;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}
} // namespace

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) noexcept {
    int skip_longer = 0;
    return match_impl(pattern.data(), pattern.size(), text.data(), text.size(), nocase, skip_longer, 0);
}

object* typed(exec_context& ctx, std::string_view key, value_type t, bool& wrong) {
    wrong = false;
    object* o = ctx.db.find(key);
    if (o != nullptr && o->type() != t) {
        ctx.out.error(err_wrongtype);
        wrong = true;
        return nullptr;
    }
    return o;
}

object* string_or_reply(exec_context& ctx, std::string_view key, bool& wrong_type) {
    return typed(ctx, key, value_type::string, wrong_type);
}

bool int_arg(exec_context& ctx, std::string_view s, std::int64_t& out) {
    if (!parse_int(s, out)) {
        ctx.out.error(err_not_integer);
        return false;
    }
    return true;
}

bool count_arg(exec_context& ctx, std::string_view s, std::int64_t& out) {
    if (!parse_int(s, out) || out < 0) {
        ctx.out.error("ERR value is out of range, must be positive");
        return false;
    }
    return true;
}

void aggregate_changed(exec_context& ctx, std::string_view key, const object& o) {
    if (o.empty_aggregate()) {
        ctx.db.erase(key); // records the change too
    } else {
        ctx.db.modified(key);
    }
}

object* read_typed(exec_context& ctx, std::string_view key, value_type t, bool& wrong) {
    wrong = false;
    object* o = ctx.db.find(key);
    ctx.db.count_lookup(o != nullptr);
    if (o != nullptr && o->type() != t) {
        ctx.out.error(err_wrongtype);
        wrong = true;
        return nullptr;
    }
    return o;
}

} // namespace percore::kv
