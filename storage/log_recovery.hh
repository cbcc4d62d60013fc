/// \file
/// \brief Recovery of an append-only log directory: replay every record in order, cut a torn tail, refuse (or
/// repair) damage before the tail. `append_log::open` runs it; it is exposed for tools and tests.
///
/// Rules:
/// - The newest `<seq>.snap` is the base: older segments of either kind are superseded and removed (a compaction
///   that crashed after its rename but before its clean-up), and so are `*.tmp` files (one that crashed before).
/// - Replay order: the snapshot, then each `.log` segment with a higher sequence number.
/// - The first short or bad record of the last `.log` segment, with no valid record anywhere after it, is a torn
///   tail: the segment is truncated there (and synced) and the dropped bytes are reported. Only the last write can
///   be torn that way: the log syncs a segment before it writes to the next one, and it never writes past a
///   failed write without first cutting it off.
/// - Any other bad record (in an earlier segment, in the snapshot, or followed by a valid record) is corruption of
///   data that was once intact: `log_corruption_error`, unless `repair` is set, in which case the valid prefix is
///   kept (the segment is truncated at the bad record and every later segment removed) and the loss reported.
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
    std::uint64_t segments = 0;        ///< segments replayed (the snapshot included)
    std::uint64_t records = 0;         ///< records replayed
    std::uint64_t bytes = 0;           ///< framed bytes replayed
    std::uint64_t torn_tail_bytes = 0; ///< bytes cut off the end of the last segment
    std::string torn_tail_segment;     ///< path of that segment ("" when nothing was cut)
    std::uint64_t repaired_bytes = 0;  ///< bytes dropped by `repair` (the bad record onwards, later segments)
    std::uint64_t removed_files = 0;   ///< superseded segments, uncommitted snapshots, segments dropped by repair
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
