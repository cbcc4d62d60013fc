#include "storage/sync_marker.hh"

namespace percore::storage {

namespace {

constexpr std::uint8_t marker_type = 1;
constexpr std::uint8_t marker_version = 1;

void store_le64(std::byte* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) {
        p[i] = static_cast<std::byte>(v >> (8 * i));
    }
}

std::uint64_t load_le64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
    }
    return v;
}

} // namespace

void encode_sync_marker(const sync_marker& m, std::byte* out) noexcept {
    std::byte payload[sync_marker_payload] = {};
    payload[0] = std::byte{marker_type};
    payload[1] = std::byte{marker_version};
    store_le64(payload + 4, m.segment);
    store_le64(payload + 12, m.offset);
    store_le64(payload + 20, m.synced);
    encode_record(payload, out, record_kind::control);
}

std::optional<sync_marker> parse_sync_marker(std::span<const std::byte> control_payload) noexcept {
    const std::byte* p = control_payload.data();
    if (control_payload.size() != sync_marker_payload || p[0] != std::byte{marker_type} ||
        p[1] != std::byte{marker_version} || p[2] != std::byte{0} || p[3] != std::byte{0}) {
        return std::nullopt;
    }
    sync_marker m{.segment = load_le64(p + 4), .offset = load_le64(p + 12), .synced = load_le64(p + 20)};
    if (m.synced > m.offset) {
        return std::nullopt;
    }
    return m;
}

} // namespace percore::storage
