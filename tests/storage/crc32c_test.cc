#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "storage/detail/crc32c.hh"

using percore::detail::crc32c;
using percore::detail::crc32c_extend;
using percore::detail::crc32c_extend_portable;

TEST_SUITE("storage/crc32c") {

    TEST_CASE("crc32c matches the check value of RFC 3720 and the iSCSI test vectors") {
        constexpr std::string_view check = "123456789";
        CHECK(crc32c(check.data(), check.size()) == 0xE3069283u);
        CHECK(crc32c_extend_portable(0, check.data(), check.size()) == 0xE3069283u);

        std::array<unsigned char, 32> buf{};
        CHECK(crc32c(buf.data(), buf.size()) == 0x8A9136AAu); // 32 zero bytes (RFC 3720 B.4)
        buf.fill(0xFF);
        CHECK(crc32c(buf.data(), buf.size()) == 0x62A8AB43u);
        for (unsigned i = 0; i < 32; ++i) {
            buf[i] = static_cast<unsigned char>(i);
        }
        CHECK(crc32c(buf.data(), buf.size()) == 0x46DD794Eu);
        for (unsigned i = 0; i < 32; ++i) {
            buf[i] = static_cast<unsigned char>(31 - i);
        }
        CHECK(crc32c(buf.data(), buf.size()) == 0x113FDB5Cu);
        CHECK(crc32c(buf.data(), 0) == 0u);
    }

    TEST_CASE("the hardware and the table implementations agree at every length and alignment") {
        MESSAGE("crc32c uses the CPU instruction: ", percore::detail::crc32c_hardware());
        std::mt19937 rng(7);
        std::vector<unsigned char> data(4096 + 16);
        for (auto& b : data) {
            b = static_cast<unsigned char>(rng());
        }
        for (std::size_t offset = 0; offset < 16; ++offset) {
            for (std::size_t len = 0; len < 300; ++len) {
                REQUIRE(crc32c(data.data() + offset, len) == crc32c_extend_portable(0, data.data() + offset, len));
            }
        }
        CHECK(crc32c(data.data(), 4096) == crc32c_extend_portable(0, data.data(), 4096));
    }

    TEST_CASE("long inputs, where the hardware path runs three streams, agree with the table implementation") {
        std::mt19937 rng(13);
        std::vector<unsigned char> data(3 * 8192 * 4 + 64);
        for (auto& b : data) {
            b = static_cast<unsigned char>(rng());
        }
        for (std::size_t len : {767u, 768u, 769u, 1000u, 3 * 8192u - 1, 3 * 8192u, 3 * 8192u + 1, 50'000u, 98'304u}) {
            for (std::size_t offset = 0; offset < 9; ++offset) {
                CAPTURE(len);
                CAPTURE(offset);
                REQUIRE(crc32c(data.data() + offset, len) == crc32c_extend_portable(0, data.data() + offset, len));
                REQUIRE(crc32c_extend(0x12345678, data.data() + offset, len) ==
                        crc32c_extend_portable(0x12345678, data.data() + offset, len));
            }
        }
    }

    TEST_CASE("extending a crc equals computing it over the concatenation") {
        constexpr std::string_view text = "The quick brown fox jumps over the lazy dog";
        const std::uint32_t whole = crc32c(text.data(), text.size());
        for (std::size_t cut = 0; cut <= text.size(); ++cut) {
            const std::uint32_t first = crc32c(text.data(), cut);
            CHECK(crc32c_extend(first, text.data() + cut, text.size() - cut) == whole);
            CHECK(crc32c_extend_portable(first, text.data() + cut, text.size() - cut) == whole);
        }
    }

} // TEST_SUITE
