/// \file
/// \brief Test hook of the file layer: a simulated power cut. While armed, every write and resize of a file is
/// recorded until the file's next successful fdatasync or fsync; `cut()` then turns the power off and rewrites
/// each file to what a disk could hold afterwards: what was synced, plus a torn part of what came after.
///
/// \code
/// using namespace percore::storage;
/// power_loss::arm();                                         // everything on disk now counts as durable
/// auto log = co_await append_log::open(dir, {.policy = durability::everysec}, apply);
/// ...appends, some of them synced...
/// co_await power_loss::cut({.mode = power_loss::tear::random_pages, .seed = 7});   // I/O fails with EIO from now
/// co_await log->close();                                     // may raise EIO: the machine is off
/// power_loss::reset();                                       // power back on; recovery reads what is left
/// \endcode
///
/// A process kill (SIGKILL) keeps the page cache, so it cannot show a missing or misplaced fdatasync; this does.
/// The model, per file:
/// - The durable image is the content and size as of the file's last successful sync (or as of arm(), or as
///   of the file's first write after it). Writes and resizes completed before a sync was issued become durable
///   when it succeeds; a failed sync makes nothing durable.
/// - At the cut `tear` decides what of the unsynced changes is on the disk: none of them; those up to a point,
///   in order, the last one torn (including states the final image hides: a write kept, the truncation that took
///   it back lost); or, page by page, the file as it is now or its durable content (zeros past the durable size:
///   unwritten or preallocated extents), as when writeback reached the disk out of order.
/// - The power switch is process-wide: after one cut, writes, resizes and syncs fail with EIO on every armed
///   shard (also those in flight: a sync that completes after the cut reports EIO). Tracking and tearing are
///   per shard: a multi-shard test arms every shard and cuts on every shard (the first cut stops them all at
///   once; each then tears its own files).
/// - Names are outside the model (creating, renaming, removing files): the storage layer fsyncs directories
///   before it relies on a name. A file renamed with unsynced writes is not torn.
/// - A file's writes and resizes must not overlap in time (the log and file_writer issue one at a time).
///
/// Always compiled in, like fault_injection: the check is one thread-local load when disarmed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/task.hh"
#include "storage/fault_injection.hh"

namespace percore::storage::power_loss {

/// What reaches the disk of the writes made since a file's last successful sync.
enum class tear : std::uint8_t {
    drop,         ///< none of them
    prefix,       ///< the changes in order up to a random one, which is torn, none after (a torn tail)
    random_pages, ///< each page or not, independently; the new size did (lost pages read as durable or zeros)
    keep,         ///< all of them (what a process kill leaves)
};

struct cut_options {
    tear mode = tear::drop;
    std::uint64_t seed = 1;       ///< picks the prefix length and the pages (with the file's path)
    std::size_t page_size = 4096; ///< the unit of random_pages
};

struct cut_report {
    std::uint64_t files = 0;          ///< files with unsynced changes
    std::uint64_t unsynced_bytes = 0; ///< bytes written or resized since those files' last sync
    std::uint64_t lost_bytes = 0;     ///< bytes whose content or presence now differs from before the cut
};

/// Starts recording this shard's writes, resizes and syncs (everything on disk now counts as durable), and turns
/// the power on. \shard_local
void arm();

/// Turns the power off (for every armed shard) as the `n`-th (1-based) following operation of kind `op` of this
/// shard begins: writes and resizes for fault_op::write, fsyncs and fdatasyncs (of directories too) for
/// fault_op::sync. That operation and every later one fail with EIO; call cut() afterwards to tear the files.
/// A sync trip is the moment that matters most: what was written before it is not durable. \shard_local
void trip_at(fault_op op, std::uint64_t n) noexcept;

/// The power cut: turns the power off for every shard, waits for this shard's writes and syncs in flight, then
/// rewrites each of this shard's files with unsynced changes as `options` says. Tracking stops. \shard_local
task<cut_report> cut(cut_options options = {});

/// Powers on, disarms this shard and forgets what it recorded. Call it when none of its I/O is in flight.
/// \shard_local
void reset() noexcept;

/// Whether the power is off (after a cut, until reset()). \any_shard
[[nodiscard]] bool power_off() noexcept;

} // namespace percore::storage::power_loss
