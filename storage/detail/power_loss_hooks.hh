/// \file
/// \brief The file layer's side of storage/power_loss.hh: file.cc brackets every write, resize and sync with
/// these calls while power_loss_armed() holds.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/task.hh"

namespace percore::storage {
class file;
}

namespace percore::storage::detail {

inline constinit thread_local bool tl_power_loss_armed = false;

/// Whether this shard records its writes (or has lost power): the hooks below must be called. \shard_local
[[nodiscard]] inline bool power_loss_armed() noexcept {
    return tl_power_loss_armed;
}

/// Whether the power is off. \any_shard
[[nodiscard]] bool power_is_off() noexcept;

enum class change_kind : std::uint8_t {
    write,    ///< bytes [offset, offset + length)
    truncate, ///< the size becomes `offset`
    extend,   ///< the size becomes at least offset + length (fallocate without KEEP_SIZE)
};

/// Records a change of `f`: what it is about to replace, and for a write the `length` bytes at `data` it puts
/// down. \return an id for power_loss_end_change (0: not tracked), or -EIO when the power is off. \shard_local
task<std::int64_t> power_loss_begin_change(file& f, change_kind kind, std::uint64_t offset, std::uint64_t length,
                                           const void* data = nullptr);
/// The change `id` of `path` completed (or failed: what it did is on the file anyway). \shard_local
void power_loss_end_change(const std::string& path, std::int64_t id) noexcept;

/// Before an fsync or fdatasync of `path` (null: a directory). \return the sync's ticket, or -EIO when the power
/// is off. \shard_local
[[nodiscard]] std::int64_t power_loss_begin_sync(const std::string* path) noexcept;
/// \return `result`, or -EIO when the power went off before the sync completed. On success the changes of
/// `path` completed before the ticket was taken are durable. \shard_local
[[nodiscard]] int power_loss_end_sync(const std::string* path, std::int64_t ticket, int result) noexcept;

} // namespace percore::storage::detail
