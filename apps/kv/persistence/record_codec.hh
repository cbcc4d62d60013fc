/// \file
/// \brief The payload of one percore-kv log record: the commands a shard applied, as RESP arrays, with the clock
/// they ran at and, for a multi-shard write, the transaction they belong to.
///
/// A payload is a sequence of items:
/// - `*<n>\r\n$<len>\r\n<arg>\r\n...`: one command (a RESP array of bulk strings, its argv, as a client sends it);
/// - `T` + 8 bytes (i64, little endian): the wall clock (ms since the epoch) the following commands ran at.
///   Replay runs them at that time, so a key that had expired then is expired during the replay too, whatever
///   the clock says now; a payload without `T` runs at the time of the replay (snapshot records: their expiry
///   times are absolute, PEXPIREAT);
/// - `X` + txn id (u64 LE) + participant count (u16 LE) + that many shard ids (u16 LE), first item only: the
///   record is this shard's part of a multi-shard write (MSET across shards, MULTI/EXEC, FLUSHALL). Recovery
///   applies it only when every participant's log holds a record of the same id (all or nothing).
///
/// \code
/// std::string rec;
/// encode_clock(rec, now_ms());
/// std::string_view argv[] = {"SET", "k", "v"};
/// encode_command(rec, argv);
/// record_reader r(rec);
/// std::vector<std::string_view> args;
/// while (r.next(args)) { /* args == {"SET", "k", "v"}, r.clock() == the time encoded */ }
/// if (!r.ok()) { /* malformed: r.error() */ }
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace percore::kv::persistence {

/// Appends one command (a RESP array of bulk strings) to `out`. \any_shard
void encode_command(std::string& out, std::span<const std::string_view> argv);
/// Appends a clock item: the commands after it ran at `ms` (ms since the epoch). \any_shard
void encode_clock(std::string& out, std::int64_t ms);
/// Appends the transaction header; it must be the first item of the payload. \any_shard
void encode_txn_header(std::string& out, std::uint64_t txn_id, std::span<const unsigned> participants);

/// The transaction a record belongs to.
struct txn_header {
    std::uint64_t id = 0;
    std::vector<unsigned> participants; ///< shard ids, ascending
};

/// Reads the items of one payload. The argv slices point into the payload. \any_shard
class record_reader {
public:
    explicit record_reader(std::string_view payload) noexcept;
    explicit record_reader(std::span<const std::byte> payload) noexcept
        : record_reader(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size())) {}

    /// The transaction header, when the payload starts with one.
    [[nodiscard]] const std::optional<txn_header>& txn() const noexcept { return _txn; }
    /// Reads the next command into `argv` (clock items on the way update clock()). \return false at the end or
    /// on a malformed item (then ok() is false).
    bool next(std::vector<std::string_view>& argv);
    /// The clock of the last command read, if the payload gave one.
    [[nodiscard]] std::optional<std::int64_t> clock() const noexcept { return _clock; }
    [[nodiscard]] bool ok() const noexcept { return _error.empty(); }
    [[nodiscard]] const std::string& error() const noexcept { return _error; }
    /// Offset in the payload of the item being read (error messages).
    [[nodiscard]] std::size_t offset() const noexcept { return _at; }

private:
    bool fail(const char* what);
    bool read_line_number(char prefix, std::int64_t& n);

    std::string_view _in;
    std::size_t _at = 0;
    std::optional<txn_header> _txn;
    std::optional<std::int64_t> _clock;
    std::string _error;
};

/// Only the transaction header of a payload (recovery's first pass), without reading the commands.
[[nodiscard]] std::optional<txn_header> peek_txn(std::span<const std::byte> payload);

} // namespace percore::kv::persistence
