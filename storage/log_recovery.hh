/// \file
/// \brief Recovery of an append-only log directory: replay every record in order, cut a torn tail, refuse (or
/// repair) damage before the tail. `append_log::open` runs it; it is exposed for tools and tests.
///
/// Rules:
/// - The newest `<seq>.snap` is the base: older segments of either kind are superseded and removed (a compaction
///   that crashed after its rename but before its clean-up), and so are `*.tmp` files (one that crashed before).
/// - Replay order: the snapshot, then each `.log` segment with a higher sequence number.
/// - Only the last `.log` segment can hold data that was never synced: the log syncs a segment before it writes to
///   the next one. In it, everything after the last successful fdatasync may be missing or torn after a power
///   cut, and not only at the end: writeback takes the pages of unsynced writes (of several batches under
///   everysec and no, of the last batch under always) to the disk in any order, and a page that did not make it
///   reads as zeros (preallocated or unwritten extent), so intact records may follow a hole.
/// - The durable point is written down in the log itself: every batch starts with a sync marker (sync_marker.hh)
///   saying how much of the segment a completed fdatasync covered when the batch was written. A marker vouches
///   only for bytes before itself, so what proves that damage was once durable is an intact marker *after* it
///   that vouches for a point past it.
/// - The first bad record of the last `.log` segment is therefore a torn tail unless such a marker follows it:
///   the segment is cut there (truncated and synced), and the dropped bytes and the intact records among them are
///   reported. Under always, the marker of a batch vouches for every batch before it: damage in an acknowledged
///   batch is caught as soon as any later batch's marker survived.
/// - An intact record longer than `max_payload` (written when the limit was larger) is refused wherever it is,
///   with a message that says so: it is not damage, and cutting it would lose it and everything after it.
/// - Any other bad record (in an earlier segment, in the snapshot, or before a point a later marker vouches for)
///   is corruption of data that was once intact: `log_corruption_error`, unless `repair` is set, in which case the
///   valid prefix is kept (the segment is truncated at the bad record and every later segment removed) and the
///   loss reported.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/task.hh"
#include "storage/segment.hh"

namespace percore::storage {

/// What recovery found and did.
struct recovery_report {
    std::uint64_t segments = 0;          ///< segments replayed (the snapshot included)
    std::uint64_t records = 0;           ///< records replayed
    std::uint64_t bytes = 0;             ///< valid bytes of the segments replayed (framing and sync markers included)
    std::uint64_t torn_tail_bytes = 0;   ///< bytes cut off the end of the last segment
    std::uint64_t torn_tail_records = 0; ///< intact records among them (after the damage, so dropped with it)
    std::string torn_tail_segment;       ///< path of that segment ("" when nothing was cut)
    std::uint64_t repaired_bytes = 0;    ///< bytes dropped by `repair` (the bad record onwards, later segments)
    std::uint64_t removed_files = 0;     ///< superseded segments, uncommitted snapshots, segments dropped by repair
};

/// Damage before the tail of the log. The log is left as it was.
class log_corruption_error : public std::runtime_error {
public:
    log_corruption_error(const std::string& message, std::string path, std::uint64_t offset)
        : std::runtime_error(message)
        , _path(std::move(path))
        , _offset(offset) {}
    [[nodiscard]] const std::string& path() const noexcept { return _path; }
    [[nodiscard]] std::uint64_t offset() const noexcept { return _offset; }

private:
    std::string _path;
    std::uint64_t _offset;
};

struct recovered_log {
    recovery_report report;
    std::optional<std::uint64_t> tail_seq; ///< the last `.log` segment, where appends continue
    std::uint64_t tail_size = 0;           ///< its size after recovery
    std::uint64_t next_seq = 1;            ///< above every sequence number in the directory
};

/// Recovers the log in `dir` (which must exist), calling `on_record` for each record in order.
/// \throws log_corruption_error, std::system_error. \shard_local
task<recovered_log> recover_log(std::string dir, std::size_t max_payload, bool repair, const record_handler& on_record);

} // namespace percore::storage
