#include "storage/record.hh"

#include <cstring>

#include "storage/detail/crc32c.hh"

namespace percore::storage {

namespace {

void store_le32(std::byte* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::byte>(v >> (8 * i));
    }
}

std::uint32_t load_le32(const std::byte* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
    }
    return v;
}

constexpr std::uint32_t control_bit = std::uint32_t{1} << 31;

std::uint32_t record_crc(const std::byte* length_bytes, std::span<const std::byte> payload) noexcept {
    const std::uint32_t c = detail::crc32c(length_bytes, 4);
    return detail::crc32c_extend(c, payload.data(), payload.size());
}

} // namespace

void encode_record(std::span<const std::byte> payload, std::byte* out, record_kind kind) noexcept {
    const auto length = static_cast<std::uint32_t>(payload.size());
    store_le32(out, kind == record_kind::control ? length | control_bit : length);
    if (!payload.empty()) {
        std::memcpy(out + record_header_size, payload.data(), payload.size());
    }
    store_le32(out + 4, record_crc(out, payload));
}

decoded_record decode_record(std::span<const std::byte> in, std::size_t max_payload) noexcept {
    decoded_record r;
    if (in.size() < record_header_size) {
        r.status = record_status::short_header;
        return r;
    }
    const std::uint32_t word = load_le32(in.data());
    r.kind = (word & control_bit) != 0 ? record_kind::control : record_kind::data;
    const std::size_t len = word & ~control_bit;
    r.length = len;
    if (len > (r.kind == record_kind::control ? max_control_payload : max_payload)) {
        r.status = record_status::too_long;
        return r;
    }
    if (in.size() - record_header_size < len) {
        r.status = record_status::short_payload;
        return r;
    }
    const auto payload = in.subspan(record_header_size, len);
    if (load_le32(in.data() + 4) != record_crc(in.data(), payload)) {
        r.status = record_status::bad_checksum;
        return r;
    }
    r.status = record_status::ok;
    r.payload = payload;
    r.size = framed_size(len);
    return r;
}

const char* to_string(record_status s) noexcept {
    switch (s) {
    case record_status::ok:
        return "ok";
    case record_status::short_header:
        return "short header";
    case record_status::short_payload:
        return "short payload";
    case record_status::too_long:
        return "length out of range";
    case record_status::bad_checksum:
        return "bad checksum";
    case record_status::bad_control:
        return "misplaced control record";
    }
    return "?";
}

} // namespace percore::storage
