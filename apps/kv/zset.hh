/// \file
/// \brief `zset_value`: a sorted set, members ordered by (score, member) with ranks in O(log n), and a member ->
/// score index.
///
/// Invariants
/// - The tree and the index hold the same members, each with the same score.
/// - No stored score is NaN (callers refuse it) or -0: a zero is kept as +0, as Redis's compact encoding of small
///   sorted sets keeps it, so that ZSCORE of a member added with "-0" prints "0".
#pragma once

#include <cmath>
#include <cstddef>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace percore::kv {

struct zentry {
    double score;
    std::string member;
};

struct zentry_less {
    bool operator()(const zentry& a, const zentry& b) const noexcept {
        if (a.score != b.score) {
            return a.score < b.score;
        }
        return a.member < b.member; // byte order, as Redis's memcmp
    }
};

class zset_value {
public:
    // An order-statistics red-black tree (GCC's policy-based data structures): rank and select in O(log n).
    using tree = __gnu_pbds::tree<zentry, __gnu_pbds::null_type, zentry_less, __gnu_pbds::rb_tree_tag,
                                  __gnu_pbds::tree_order_statistics_node_update>;
    using iterator = tree::const_iterator;

    [[nodiscard]] std::size_t size() const noexcept { return _scores.size(); }
    [[nodiscard]] std::optional<double> score(std::string_view member) const {
        auto it = _scores.find(member);
        if (it == _scores.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    /// Inserts or moves `member` to `score` (not NaN). \return true if it was new.
    bool set(std::string_view member, double score) {
        if (score == 0) {
            score = 0; // -0 is stored as +0 (see the invariants)
        }
        auto it = _scores.find(member);
        if (it != _scores.end()) {
            if (it->second == score) {
                return false;
            }
            _tree.erase(zentry{it->second, it->first});
            it->second = score;
            _tree.insert(zentry{score, it->first});
            return false;
        }
        std::string m(member);
        _tree.insert(zentry{score, m});
        _scores.emplace(std::move(m), score);
        return true;
    }
    bool remove(std::string_view member) {
        auto it = _scores.find(member);
        if (it == _scores.end()) {
            return false;
        }
        _tree.erase(zentry{it->second, it->first});
        _scores.erase(it);
        return true;
    }
    /// Removes and returns the lowest element (or the highest). \pre not empty
    zentry pop(bool highest) {
        iterator it = highest ? std::prev(_tree.end()) : _tree.begin();
        zentry e = *it;
        _tree.erase(it);
        _scores.erase(_scores.find(e.member));
        return e;
    }
    /// 0-based rank in ascending order. \pre member present
    [[nodiscard]] std::size_t rank(std::string_view member, double score) const {
        return _tree.order_of_key(zentry{score, std::string(member)});
    }
    [[nodiscard]] iterator at_rank(std::size_t r) const { return _tree.find_by_order(r); }
    [[nodiscard]] iterator begin() const { return _tree.begin(); }
    [[nodiscard]] iterator end() const { return _tree.end(); }
    /// First element not below (score, member).
    [[nodiscard]] iterator lower_bound(double score, std::string_view member = {}) const {
        return _tree.lower_bound(zentry{score, std::string(member)});
    }
    /// Rank of the first element not below (score, member).
    [[nodiscard]] std::size_t order_of(double score, std::string_view member = {}) const {
        return _tree.order_of_key(zentry{score, std::string(member)});
    }
    /// The number of elements scoring below `score`, or (with `inclusive`) not above it.
    [[nodiscard]] std::size_t count_below(double score, bool inclusive) const {
        if (!inclusive) {
            return order_of(score);
        }
        if (score == std::numeric_limits<double>::infinity()) {
            return size();
        }
        // No double lies between `score` and the next one up: "not above score" is "below the next".
        return order_of(std::nextafter(score, std::numeric_limits<double>::infinity()));
    }
    /// The number of elements before (score, member), or (with `inclusive`) up to it.
    [[nodiscard]] std::size_t count_before(double score, std::string_view member, bool inclusive) const {
        const std::size_t r = order_of(score, member);
        if (inclusive) {
            auto it = _scores.find(member);
            if (it != _scores.end() && it->second == score) {
                return r + 1;
            }
        }
        return r;
    }

private:
    struct member_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
    };

    tree _tree;
    std::unordered_map<std::string, double, member_hash, std::equal_to<>> _scores;
};

} // namespace percore::kv
