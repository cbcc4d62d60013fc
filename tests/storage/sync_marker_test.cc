#include <cstddef>
#include <vector>

#include <doctest/doctest.h>

#include "storage/sync_marker.hh"

using namespace percore::storage;

TEST_SUITE("storage/sync_marker") {

    TEST_CASE("a sync marker is a control record that decodes to the same fields") {
        std::vector<std::byte> buf(sync_marker_size);
        encode_sync_marker({.segment = 7, .offset = 123'456, .synced = 4096}, buf.data());
        const decoded_record r = decode_record(buf, 1024);
        REQUIRE(r.status == record_status::ok);
        CHECK(r.kind == record_kind::control);
        CHECK(r.size == sync_marker_size);
        const auto m = parse_sync_marker(r.payload);
        REQUIRE(m.has_value());
        CHECK(m->segment == 7);
        CHECK(m->offset == 123'456);
        CHECK(m->synced == 4096);
    }

    TEST_CASE("control records are told from data by bit 31 of the length, which the checksum covers") {
        std::vector<std::byte> buf(sync_marker_size);
        encode_sync_marker({.segment = 1, .offset = 0, .synced = 0}, buf.data());
        CHECK(buf[3] == std::byte{0x80}); // the length word, little-endian: its top bit
        auto data = buf;
        data[3] = std::byte{0};
        CHECK(decode_record(data, 1024).status == record_status::bad_checksum); // a flipped kind is damage
        const std::byte payload[4] = {};
        const std::vector<std::byte> too_much(max_control_payload + 1);
        std::vector<std::byte> big(framed_size(too_much.size()));
        encode_record(too_much, big.data(), record_kind::control);
        CHECK(decode_record(big, 1 << 20).status == record_status::too_long);
        std::vector<std::byte> small(framed_size(sizeof payload));
        encode_record(payload, small.data(), record_kind::control);
        CHECK(decode_record(small, 1024).kind == record_kind::control);
    }

    TEST_CASE("a marker claiming more than its own offset, or of an unknown version, is not a marker") {
        std::vector<std::byte> buf(sync_marker_size);
        encode_sync_marker({.segment = 1, .offset = 100, .synced = 101}, buf.data());
        CHECK_FALSE(parse_sync_marker(decode_record(buf, 1024).payload).has_value());
        encode_sync_marker({.segment = 1, .offset = 100, .synced = 100}, buf.data());
        auto payload = decode_record(buf, 1024).payload;
        CHECK(parse_sync_marker(payload).has_value());
        std::vector<std::byte> other(payload.begin(), payload.end());
        other[1] = std::byte{2}; // version 2
        CHECK_FALSE(parse_sync_marker(other).has_value());
        CHECK_FALSE(parse_sync_marker(std::span(other).first(10)).has_value());
    }

} // TEST_SUITE
