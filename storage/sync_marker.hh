/// \file
/// \brief The sync marker: the control record at the head of every batch the log writes, saying how much of
/// its segment a completed fdatasync covered when the batch went out. Recovery uses it to tell a torn tail
/// (damage after the last durable point: cut it) from corruption (damage before it: refuse). See
/// why-sync-markers.md.
///
/// \code
/// std::byte buf[sync_marker_size];
/// encode_sync_marker({.segment = 3, .offset = 8192, .synced = 4096}, buf);   // framed, ready to write at 8192
/// decoded_record r = decode_record(buf, max_payload);                          // r.kind == record_kind::control
/// std::optional<sync_marker> m = parse_sync_marker(r.payload);
/// \endcode
///
/// Payload (28 bytes, little-endian): `[type = 1: u8][version = 1: u8][reserved: u16 = 0][segment: u64]
/// [offset: u64][synced: u64]`, framed as a control record (record.hh): 36 bytes on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "storage/record.hh"

namespace percore::storage {

struct sync_marker {
    std::uint64_t segment = 0; ///< sequence number of the segment it was written to
    std::uint64_t offset = 0;  ///< where in that segment it starts (a copy found elsewhere is not a marker)
    std::uint64_t synced = 0;  ///< the segment's first `synced` bytes were durable (fdatasync returned) before
                               ///< this marker was written; never more than `offset`
};

inline constexpr std::size_t sync_marker_payload = 28;
inline constexpr std::size_t sync_marker_size = framed_size(sync_marker_payload);

/// Writes the framed marker (sync_marker_size bytes) to `out`. \any_shard
void encode_sync_marker(const sync_marker& m, std::byte* out) noexcept;

/// The marker in a control record's payload; nullopt when it is not a sync marker of a version this code knows,
/// or claims more than its own offset. \any_shard
[[nodiscard]] std::optional<sync_marker> parse_sync_marker(std::span<const std::byte> control_payload) noexcept;

} // namespace percore::storage
