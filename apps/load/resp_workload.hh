/// \file
/// \brief What percore-load's `resp` mode asks a Redis-protocol server: request *seq* of connection *c* is a
/// function of (c, seq) alone, so the reply checker recomputes the command, its keys and the expected value
/// instead of remembering them.
///
/// - The command mix (`-t set:1,get:9`) is a cycle: the commands in the order given, each repeated by its
///   weight; request seq of connection c is entry (seq + c) mod the cycle's length. The proportions are exact
///   and connections are out of phase.
/// - Keys are drawn uniformly from `keyspace` indices, like redis-benchmark's `-r N` / `__rand_int__`: `key:` and
///   12 digits (`counter:` for INCR, as redis-benchmark). With `hash_tag` the keys of one request share a tag,
///   `key:{0123}:000000004567`, drawn per request from 1024: a multi-key command stays in one slot.
/// - The value of key k is `size` bytes of a printable pattern seeded by k only: any writer (SET, MSET, another
///   connection) stores the same bytes, so a GET returns nil or exactly them.
///
/// \code
/// resp::workload w(options);                       // throws std::invalid_argument for a bad mix
/// unsigned kind = w.kind_of(conn, seq);            // index into w.kinds()
/// std::uint64_t k = w.key_of(conn, seq, 0);        // the first key's index
/// char key[resp::max_key_length];
/// std::size_t n = w.format_key(resp::key_prefix::key, k, w.tag_of(conn, seq), key);
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apps/load/protocol.hh"

namespace percore::load::resp {

enum class command : std::uint8_t { ping, set, get, incr, mset, del };

/// Lower-case name, as on the command line.
[[nodiscard]] std::string_view command_name(command c) noexcept;

enum class key_prefix : std::uint8_t { key, counter };

/// `counter:{0123}:000000000000`
inline constexpr std::size_t max_key_length = 32;
/// redis-benchmark's __rand_int__ has 12 digits.
inline constexpr std::uint64_t max_keyspace = 1'000'000'000'000ULL;
inline constexpr unsigned tag_count = 1024;

class workload {
public:
    /// \throws std::invalid_argument for an unknown or repeated command, a bad weight, a keyspace of 0 or above
    /// 10^12, an MSET of no keys, a value size of 0.
    explicit workload(const protocol_options& o);

    /// The distinct commands of the mix, in the order given (what protocol::kinds() names).
    [[nodiscard]] const std::vector<command>& commands() const noexcept { return _commands; }
    [[nodiscard]] unsigned kind_of(std::uint64_t conn, std::uint64_t seq) const noexcept {
        return _cycle[(seq + conn) % _cycle.size()];
    }
    /// Index of key `j` of request seq on connection conn, uniform in [0, keyspace).
    [[nodiscard]] std::uint64_t key_of(std::uint64_t conn, std::uint64_t seq, unsigned j) const noexcept;
    /// The request's hash tag (0 when tags are off).
    [[nodiscard]] unsigned tag_of(std::uint64_t conn, std::uint64_t seq) const noexcept;
    /// Writes the key's name into `dst` (max_key_length bytes). \return its length
    std::size_t format_key(key_prefix p, std::uint64_t key, unsigned tag, char* dst) const noexcept;

    [[nodiscard]] std::size_t value_size() const noexcept { return _size; }
    [[nodiscard]] unsigned mset_keys() const noexcept { return _mset_keys; }

private:
    std::vector<command> _commands;
    std::vector<unsigned> _cycle; // kind per position
    std::uint64_t _keyspace;
    std::size_t _size;
    unsigned _mset_keys;
    bool _hash_tag;
};

/// Writes bytes [offset, offset + len) of the value of key `key`.
void fill_value(std::uint64_t key, std::size_t offset, char* dst, std::size_t len) noexcept;

} // namespace percore::load::resp
