/// \file
/// \brief `zset_value`: a sorted set, members ordered by (score, member) with ranks in O(log n), and a member ->
/// score index.
#pragma once

#include <cstddef>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
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
        auto it = _scores.find(std::string(member));
        if (it == _scores.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    /// Inserts or moves `member` to `score`. \return true if it was new.
    bool set(std::string_view member, double score) {
        std::string m(member);
        auto it = _scores.find(m);
        if (it != _scores.end()) {
            if (it->second == score) {
                return false;
            }
            _tree.erase(zentry{it->second, m});
            it->second = score;
            _tree.insert(zentry{score, std::move(m)});
            return false;
        }
        _scores.emplace(m, score);
        _tree.insert(zentry{score, std::move(m)});
        return true;
    }
    bool remove(std::string_view member) {
        auto it = _scores.find(std::string(member));
        if (it == _scores.end()) {
            return false;
        }
        _tree.erase(zentry{it->second, it->first});
        _scores.erase(it);
        return true;
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

private:
    tree _tree;
    std::unordered_map<std::string, double> _scores;
};

} // namespace percore::kv
