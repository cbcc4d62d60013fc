/// \file
/// \brief Test hook of the file layer: make the Nth write or sync of this shard fail with a chosen errno, so the
/// ENOSPC and EIO paths of everything above `file` can be exercised without a full disk or a dying device.
///
/// \code
/// percore::storage::fault_injection::fail_nth(percore::storage::fault_op::sync, 1, EIO);   // the next fdatasync
/// co_await log.append(bytes);            // throws std::system_error(EIO, "fdatasync <segment path>")
/// percore::storage::fault_injection::reset();
/// \endcode
///
/// Always compiled in: the check is one thread-local load and a branch in front of a system call, and keeping it
/// in release builds means the fault paths are tested in the build that ships. Counting starts when fail_nth() is
/// called, per shard (thread); every `file` of the shard counts.
#pragma once

#include <cstdint>

namespace percore::storage {

/// Which operations a fault applies to. `write` counts each write submission of `file` (a short write that is
/// continued counts again); `sync` counts fdatasync and fsync.
enum class fault_op : std::uint8_t { write, sync };

/// What happens to the write the fault hits.
enum class fault_effect : std::uint8_t {
    fail,          ///< nothing is written; the operation returns -errno
    partial_write, ///< the first half of the bytes is written for real, then the error is returned (a torn write)
};

namespace fault_injection {

/// Makes the `n`-th (1-based) following operation of kind `op` on this shard fail with `error`, and the `times - 1`
/// after it too. Replaces any fault armed for the same kind. \shard_local
void fail_nth(fault_op op, std::uint64_t n, int error, std::uint64_t times = 1,
              fault_effect effect = fault_effect::fail) noexcept;

/// Disarms every fault of this shard. \shard_local
void reset() noexcept;

/// Operations of kind `op` counted since the last fail_nth() or reset() for it. \shard_local
[[nodiscard]] std::uint64_t count(fault_op op) noexcept;

} // namespace fault_injection

namespace detail {

/// What the file layer asks before each write or sync. \shard_local
struct injected_fault {
    int error = 0; ///< 0: no fault for this operation
    fault_effect effect = fault_effect::fail;
};

struct fault_slot {
    std::uint64_t seen = 0;
    std::uint64_t first = 0; ///< 0: disarmed
    std::uint64_t last = 0;
    int error = 0;
    fault_effect effect = fault_effect::fail;
};

inline constinit thread_local fault_slot tl_faults[2]{};

/// Counts one operation of kind `op`; returns the fault to apply to it, if any.
inline injected_fault next_fault(fault_op op) noexcept {
    fault_slot& s = tl_faults[static_cast<unsigned>(op)];
    const std::uint64_t n = ++s.seen;
    if (s.first != 0 && n >= s.first && n <= s.last) {
        return {s.error, s.effect};
    }
    return {};
}

} // namespace detail
} // namespace percore::storage
