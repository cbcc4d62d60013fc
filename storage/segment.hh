/// \file
/// \brief Segment files of the append-only log: names, directory listing, and the scan that replays one segment.
///
/// A log directory holds `<seq>.log` segments (records appended by the log) and at most one live `<seq>.snap`
/// (a compaction snapshot), `<seq>` being 16 hex digits. Replay order is the snapshot, then every `.log` with a
/// higher sequence number, in order. `<name>.tmp` files are snapshots that were never committed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/task.hh"
#include "storage/file.hh"
#include "storage/record.hh"

namespace percore::storage {

/// Receives each replayed record's payload, in log order. The span is valid only during the call.
using record_handler = std::function<void(std::span<const std::byte>)>;

enum class segment_kind : std::uint8_t { log, snapshot };

struct segment_id {
    std::uint64_t seq = 0;
    segment_kind kind = segment_kind::log;
};

inline constexpr std::string_view temporary_suffix = ".tmp";

/// "0000000000000001.log" / "000000000000002a.snap".
[[nodiscard]] std::string segment_file_name(segment_id id);
[[nodiscard]] std::string segment_path(std::string_view dir, segment_id id);
/// The inverse of segment_file_name; nullopt for any other name.
[[nodiscard]] std::optional<segment_id> parse_segment_name(std::string_view name);

struct directory_entries {
    std::vector<segment_id> segments;     ///< sorted by sequence number
    std::vector<std::string> temporaries; ///< file names ending in ".tmp"
};

/// Lists a log directory. readdir has no io_uring operation, so it runs on the blocking pool. \shard_local
task<directory_entries> list_directory(std::string dir);

struct segment_scan {
    std::uint64_t records = 0;   ///< data records replayed
    std::uint64_t valid_end = 0; ///< offset just past the last good record (or sync marker)
    std::uint64_t file_size = 0;
    record_status bad = record_status::ok; ///< why the scan stopped before file_size (ok: it did not)
    std::uint64_t oversized = 0;           ///< bad == too_long and the record is intact: its length (not damage)
    // What lies after the damage (when bad != ok):
    std::uint64_t records_after_bad = 0; ///< intact data records found after it (not replayed)
    std::uint64_t durable_after_bad = 0; ///< the furthest durable point an intact sync marker after it vouches for
    std::uint64_t voucher = 0;           ///< the offset of that marker
};

/// Replays the data records of one segment from offset 0 until the end or the first bad record, checking the
/// sync markers on the way (those of `log_seq`; nullopt for a snapshot, which has none). When a bad record is
/// found, searches the rest of the segment byte by byte for intact records and sync markers: a marker after
/// the damage that vouches for a durable point past it shows the damage was once durable. Counting the data
/// records has a bounded budget (it errs towards counting fewer); every marker-shaped record is checked.
/// \shard_local
task<segment_scan> scan_segment(file& f, std::optional<std::uint64_t> log_seq, std::size_t max_payload,
                                const record_handler& on_record);

} // namespace percore::storage
