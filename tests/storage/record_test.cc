#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "storage/record.hh"

using namespace percore::storage;

namespace {

std::vector<std::byte> frame(std::string_view payload) {
    std::vector<std::byte> out(framed_size(payload.size()));
    encode_record({reinterpret_cast<const std::byte*>(payload.data()), payload.size()}, out.data());
    return out;
}

std::string_view text(std::span<const std::byte> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

} // namespace

TEST_SUITE("storage/record") {

    TEST_CASE("an encoded record decodes to the same payload and size") {
        for (std::string_view p : {std::string_view(), std::string_view("x"), std::string_view("hello, log")}) {
            const auto bytes = frame(p);
            const decoded_record r = decode_record(bytes, 1024);
            REQUIRE(r.status == record_status::ok);
            CHECK(text(r.payload) == p);
            CHECK(r.size == bytes.size());
            CHECK(r.length == p.size());
        }
    }

    TEST_CASE("the header is the little-endian length followed by the checksum") {
        const auto bytes = frame("abc");
        CHECK(bytes[0] == std::byte{3});
        CHECK(bytes[1] == std::byte{0});
        CHECK(bytes[3] == std::byte{0});
        CHECK(text(std::span(bytes).subspan(8)) == "abc");
    }

    TEST_CASE("a record cut anywhere is reported short") {
        const auto bytes = frame("payload of the record");
        for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
            const decoded_record r = decode_record(std::span(bytes).first(cut), 1024);
            CHECK(r.status == (cut < record_header_size ? record_status::short_header : record_status::short_payload));
        }
    }

    TEST_CASE("a flipped bit anywhere in the record is detected") {
        const auto good = frame("payload of the record");
        for (std::size_t i = 0; i < good.size(); ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                auto bad = good;
                bad[i] ^= std::byte(1u << bit);
                const decoded_record r = decode_record(bad, 1024);
                CHECK(r.status != record_status::ok);
            }
        }
    }

    TEST_CASE("zero bytes never decode as a record and long lengths are refused") {
        const std::vector<std::byte> zeros(64);
        CHECK(decode_record(zeros, 1024).status == record_status::bad_checksum);
        const auto bytes = frame(std::string(100, 'z'));
        CHECK(decode_record(bytes, 99).status == record_status::too_long);
        CHECK(decode_record(bytes, 100).status == record_status::ok);
    }

} // TEST_SUITE
