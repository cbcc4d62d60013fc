#include "apps/load/echo_protocol.hh"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace percore::load {

namespace {

// Messages up to this size are built in a scratch area and copied into the stream's shared staging chunks (no
// allocation per message); larger ones get a buffer of their own that the stream sends without a copy.
constexpr std::size_t copy_limit = 8 * 1024;
// Expected bytes are generated in blocks of this size and compared with memcmp.
constexpr std::size_t check_block = 512;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

class echo_codec final : public codec {
public:
    echo_codec(std::uint64_t connection_id, std::size_t size)
        : _connection(connection_id)
        , _size(size) {
        if (size <= copy_limit) {
            _scratch.resize(size);
        }
    }

    net::output_stream::write_awaiter write_request(net::output_stream& out, std::uint64_t seq) override {
        if (_size <= copy_limit) {
            fill_echo_pattern(_connection, seq, 0, _scratch.data(), _size);
            return out.write(std::string_view(_scratch.data(), _size));
        }
        net::buffer b(_size);
        fill_echo_pattern(_connection, seq, 0, b.writable(), _size);
        return out.write(std::move(b));
    }

    task<check_result> read_reply(net::input_stream& in, std::uint64_t seq) override {
        std::size_t have = 0;
        while (have < _size) {
            net::buffer b = co_await in.read();
            if (b.empty()) {
                co_return check_result{fmt::format("connection {}, message {}: connection closed by the server "
                                                   "after {} of {} reply bytes",
                                                   _connection, seq, have, _size)};
            }
            const std::size_t take = std::min(b.size(), _size - have);
            check_result r = compare(seq, have, b.data(), take);
            if (!r.ok()) {
                co_return r;
            }
            have += take;
            if (take < b.size()) {
                b.trim_front(take); // the start of the next reply
                in.unread(std::move(b));
            }
        }
        co_return check_result{};
    }

private:
    check_result compare(std::uint64_t seq, std::size_t offset, const char* got, std::size_t len) const {
        char expected[check_block];
        for (std::size_t done = 0; done < len;) {
            const std::size_t n = std::min(check_block, len - done);
            fill_echo_pattern(_connection, seq, offset + done, expected, n);
            if (std::memcmp(expected, got + done, n) != 0) {
                std::size_t i = 0;
                while (expected[i] == got[done + i]) {
                    ++i;
                }
                const std::size_t at = done + i;
                return {fmt::format("connection {}, message {}: reply byte {} of {} is 0x{:02x}, expected 0x{:02x} "
                                    "(received \"{}\")",
                                    _connection, seq, offset + at, _size, static_cast<unsigned char>(got[at]),
                                    static_cast<unsigned char>(expected[i]),
                                    printable(std::string_view(got + at, std::min<std::size_t>(len - at, 16))))};
            }
            done += n;
        }
        return {};
    }

    std::uint64_t _connection;
    std::size_t _size;
    std::vector<char> _scratch;
};

class echo_protocol final : public protocol {
public:
    explicit echo_protocol(std::size_t size)
        : _size(size) {}
    std::unique_ptr<codec> open(std::uint64_t connection_id) override {
        return std::make_unique<echo_codec>(connection_id, _size);
    }

private:
    std::size_t _size;
};

} // namespace

void fill_echo_pattern(std::uint64_t connection_id, std::uint64_t seq, std::size_t offset, char* dst,
                       std::size_t len) noexcept {
    // Word j of a message is seed + j * odd: consecutive words differ, and so do messages and connections.
    const std::uint64_t seed = splitmix64(splitmix64(connection_id) ^ seq);
    constexpr std::uint64_t step = 0xD1B54A32D192ED03ULL;
    while (len > 0) {
        const std::uint64_t word = seed + (offset / 8) * step;
        const std::size_t from = offset % 8;
        const std::size_t n = std::min<std::size_t>(8 - from, len);
        std::memcpy(dst, reinterpret_cast<const char*>(&word) + from, n);
        dst += n;
        offset += n;
        len -= n;
    }
}

std::unique_ptr<protocol> make_echo_protocol(const protocol_options& options) {
    if (options.size == 0) {
        throw std::invalid_argument("echo: --size must be at least 1");
    }
    return std::make_unique<echo_protocol>(options.size);
}

} // namespace percore::load
