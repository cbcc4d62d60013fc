/// \file
/// \brief Record framing of the append-only log: `[length: u32 LE][crc32c: u32 LE][payload: length bytes]`.
///
/// The checksum covers the four length bytes and the payload, so a damaged length is caught like damaged data,
/// and an all-zero region (a hole, zero padding) never decodes as a record: crc32c of four zero bytes is not 0.
///
/// Bit 31 of the length word marks a *control* record: one the log writes for itself (a sync marker, see
/// sync_marker.hh) rather than a payload of the caller's. Payloads never set it (they are at most 2^30 bytes),
/// so logs written before control records existed decode unchanged; a reader that predates them sees a length
/// out of range and refuses the segment instead of misreading it.
///
/// \code
/// std::vector<std::byte> out(framed_size(payload.size()));
/// encode_record(payload, out.data());
/// decoded_record r = decode_record(out, max_payload);   // r.status == record_status::ok, r.payload == payload
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace percore::storage {

inline constexpr std::size_t record_header_size = 8;

[[nodiscard]] constexpr std::size_t framed_size(std::size_t payload) noexcept {
    return record_header_size + payload;
}

/// The largest control record payload decode_record() accepts.
inline constexpr std::size_t max_control_payload = 256;
/// The longest data payload a log takes: the framing could say 2 GiB - 1 (bit 31 is the control flag), but one
/// write(2) stops near 2 GiB, so records stay well clear of it.
inline constexpr std::size_t max_data_payload = std::size_t{1} << 30;

enum class record_kind : std::uint8_t {
    data,    ///< a payload given to append()
    control, ///< written by the log for itself (bit 31 of the length)
};

/// Writes the framed record (framed_size(payload.size()) bytes) to `out`. A control payload is at most
/// max_control_payload bytes, a data payload below 2^31. \any_shard
void encode_record(std::span<const std::byte> payload, std::byte* out, record_kind kind = record_kind::data) noexcept;

enum class record_status : std::uint8_t {
    ok,
    short_header,  ///< fewer than 8 bytes left
    short_payload, ///< the header announces more bytes than are left
    too_long,      ///< the length exceeds the largest record allowed
    bad_checksum,
    bad_control, ///< intact, but a control record that does not belong where it is (segment.hh decides)
};

[[nodiscard]] const char* to_string(record_status s) noexcept;

struct decoded_record {
    record_status status = record_status::short_header;
    std::span<const std::byte> payload;   ///< valid when status == ok
    std::size_t size = 0;                 ///< framed bytes the record takes, when status == ok
    std::size_t length = 0;               ///< the payload length the header announces (0 for short_header)
    record_kind kind = record_kind::data; ///< what the header announces (not for short_header)
};

/// Decodes the record at the start of `in`; lengths above `max_payload` (max_control_payload for control
/// records) are refused as too_long. \any_shard
[[nodiscard]] decoded_record decode_record(std::span<const std::byte> in, std::size_t max_payload) noexcept;

} // namespace percore::storage
