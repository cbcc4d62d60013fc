/// \file
/// \brief `object`: the value a key holds (string, list, set, hash or sorted set).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "apps/kv/zset.hh"

namespace percore::kv {

enum class value_type : std::uint8_t { string, list, set, hash, zset };

/// The name TYPE reports.
[[nodiscard]] constexpr std::string_view type_name(value_type t) noexcept {
    switch (t) {
    case value_type::string:
        return "string";
    case value_type::list:
        return "list";
    case value_type::set:
        return "set";
    case value_type::hash:
        return "hash";
    case value_type::zset:
        return "zset";
    }
    return "none";
}

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

using list_value = std::deque<std::string>;
using hash_value = std::unordered_map<std::string, std::string, string_hash, std::equal_to<>>;

/// A set: members in a vector (random members in O(1): SPOP, SRANDMEMBER) indexed by a hash map.
class set_value {
public:
    [[nodiscard]] std::size_t size() const noexcept { return _members.size(); }
    [[nodiscard]] bool contains(std::string_view m) const { return _index.find(m) != _index.end(); }
    bool add(std::string_view m) {
        if (contains(m)) {
            return false;
        }
        _members.emplace_back(m);
        _index.emplace(_members.back(), _members.size() - 1);
        return true;
    }
    bool remove(std::string_view m) {
        auto it = _index.find(m);
        if (it == _index.end()) {
            return false;
        }
        remove_at(it->second);
        return true;
    }
    /// Removes and returns the member at `i` (the last one takes its place).
    std::string remove_at(std::size_t i) {
        std::string out = std::move(_members[i]);
        _index.erase(_index.find(std::string_view(out)));
        if (i + 1 != _members.size()) {
            _members[i] = std::move(_members.back());
            _index.find(std::string_view(_members[i]))->second = i;
        }
        _members.pop_back();
        return out;
    }
    [[nodiscard]] const std::string& at(std::size_t i) const noexcept { return _members[i]; }
    [[nodiscard]] const std::vector<std::string>& members() const noexcept { return _members; }

private:
    std::vector<std::string> _members;
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> _index;
};

class object {
public:
    object() = default;
    explicit object(std::string s)
        : _v(std::move(s)) {}
    static object make(value_type t);

    [[nodiscard]] value_type type() const noexcept { return static_cast<value_type>(_v.index()); }

    [[nodiscard]] std::string& str() noexcept { return std::get<std::string>(_v); }
    [[nodiscard]] const std::string& str() const noexcept { return std::get<std::string>(_v); }
    [[nodiscard]] list_value& list() noexcept { return *std::get<std::unique_ptr<list_value>>(_v); }
    [[nodiscard]] set_value& set() noexcept { return *std::get<std::unique_ptr<set_value>>(_v); }
    [[nodiscard]] hash_value& hash() noexcept { return *std::get<std::unique_ptr<hash_value>>(_v); }
    [[nodiscard]] zset_value& zset() noexcept { return *std::get<std::unique_ptr<zset_value>>(_v); }
    [[nodiscard]] const list_value& list() const noexcept { return *std::get<std::unique_ptr<list_value>>(_v); }
    [[nodiscard]] const set_value& set() const noexcept { return *std::get<std::unique_ptr<set_value>>(_v); }
    [[nodiscard]] const hash_value& hash() const noexcept { return *std::get<std::unique_ptr<hash_value>>(_v); }
    [[nodiscard]] const zset_value& zset() const noexcept { return *std::get<std::unique_ptr<zset_value>>(_v); }

    /// A deep copy (COPY, and values moved between shards).
    [[nodiscard]] object clone() const;
    /// True for an aggregate with no elements left (the key is then deleted, as in Redis).
    [[nodiscard]] bool empty_aggregate() const noexcept;
    /// Approximate bytes held (maxmemory accounting).
    [[nodiscard]] std::size_t memory() const noexcept;

private:
    std::variant<std::string, std::unique_ptr<list_value>, std::unique_ptr<set_value>, std::unique_ptr<hash_value>,
                 std::unique_ptr<zset_value>>
        _v;
};

} // namespace percore::kv
