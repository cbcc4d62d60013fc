#include "apps/load/resp_workload.hh"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace percore::load::resp {

namespace {

struct named {
    std::string_view name;
    command cmd;
};
constexpr named names[] = {{"ping", command::ping}, {"set", command::set},   {"get", command::get},
                           {"incr", command::incr}, {"mset", command::mset}, {"del", command::del}};

std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// Uniform in [0, n) without a division (Lemire): the bias is below n / 2^64.
std::uint64_t below(std::uint64_t random, std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(random) * n) >> 64);
}

char* put_digits(char* dst, std::uint64_t v, int digits) noexcept {
    for (int i = digits - 1; i >= 0; --i) {
        dst[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    return dst + digits;
}

char* put(char* dst, std::string_view s) noexcept {
    for (char c : s) {
        *dst++ = c;
    }
    return dst;
}

// The largest weight: a cycle longer than this many entries per command is a typo, not a mix.
constexpr unsigned max_weight = 1000;

} // namespace

std::string_view command_name(command c) noexcept {
    for (const auto& n : names) {
        if (n.cmd == c) {
            return n.name;
        }
    }
    return "?";
}

workload::workload(const protocol_options& o)
    : _keyspace(o.keyspace)
    , _size(o.size)
    , _mset_keys(o.mset_keys)
    , _hash_tag(o.hash_tag) {
    std::string_view rest = o.commands;
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        unsigned weight = 1;
        if (const std::size_t colon = item.find(':'); colon != std::string_view::npos) {
            const std::string_view w = item.substr(colon + 1);
            auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), weight);
            if (ec != std::errc() || end != w.data() + w.size() || weight == 0 || weight > max_weight) {
                throw std::invalid_argument(
                    fmt::format("resp: -t {}: the weight of '{}' must be 1..{}", o.commands, item, max_weight));
            }
            item = item.substr(0, colon);
        }
        std::string lower(item);
        for (char& c : lower) {
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        const named* found = nullptr;
        for (const auto& n : names) {
            if (n.name == lower) {
                found = &n;
            }
        }
        if (found == nullptr) {
            throw std::invalid_argument(fmt::format("resp: -t {}: unknown command '{}' (known: ping, set, get, incr, "
                                                    "mset, del)",
                                                    o.commands, item));
        }
        for (command c : _commands) {
            if (c == found->cmd) {
                throw std::invalid_argument(fmt::format("resp: -t {}: '{}' given twice", o.commands, item));
            }
        }
        for (unsigned i = 0; i < weight; ++i) {
            _cycle.push_back(static_cast<unsigned>(_commands.size()));
        }
        _commands.push_back(found->cmd);
    }
    if (_commands.empty()) {
        throw std::invalid_argument("resp: -t needs at least one command");
    }
    if (_keyspace == 0 || _keyspace > max_keyspace) {
        throw std::invalid_argument("resp: -r (keyspace) must be 1..10^12");
    }
    if (_size == 0) {
        throw std::invalid_argument("resp: -d (value size) must be at least 1");
    }
    if (_mset_keys == 0) {
        throw std::invalid_argument("resp: --mset-keys must be at least 1");
    }
}

std::uint64_t workload::key_of(std::uint64_t conn, std::uint64_t seq, unsigned j) const noexcept {
    if (_keyspace == 1) {
        return 0;
    }
    return below(splitmix64(splitmix64(conn) ^ (seq * 64 + j)), _keyspace);
}

unsigned workload::tag_of(std::uint64_t conn, std::uint64_t seq) const noexcept {
    if (!_hash_tag) {
        return 0;
    }
    // 63: a draw of its own, apart from the keys' (an MSET has fewer keys).
    return static_cast<unsigned>(below(splitmix64(splitmix64(conn) ^ (seq * 64 + 63)), tag_count));
}

std::size_t workload::format_key(key_prefix p, std::uint64_t key, unsigned tag, char* dst) const noexcept {
    char* at = put(dst, p == key_prefix::key ? "key:" : "counter:");
    if (_hash_tag) {
        *at++ = '{';
        at = put_digits(at, tag, 4);
        at = put(at, "}:");
    }
    at = put_digits(at, key, 12);
    return static_cast<std::size_t>(at - dst);
}

void fill_value(std::uint64_t key, std::size_t offset, char* dst, std::size_t len) noexcept {
    // Ten printable characters per 64-bit word of a stream seeded by the key: readable in redis-cli, and values
    // of different keys differ within their first few bytes.
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const std::uint64_t seed = splitmix64(key);
    while (len > 0) {
        const std::uint64_t word = splitmix64(seed + offset / 10);
        for (std::size_t i = offset % 10; i < 10 && len > 0; ++i, --len, ++offset) {
            *dst++ = alphabet[(word >> (6 * i)) & 63];
        }
    }
}

} // namespace percore::load::resp
