/// \file
/// \brief `head_buffer`: the bytes of a response head, appended with memcpy into storage that is kept and reused
/// (no allocation per response once it has grown; std::string's append paths cost several times more).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace percore::net::http::detail {

class head_buffer {
public:
    void clear() noexcept { _len = 0; }
    void append(std::string_view s) {
        if (_len + s.size() > _cap) {
            grow(_len + s.size());
        }
        std::memcpy(_data.get() + _len, s.data(), s.size());
        _len += s.size();
    }
    void append(char c) { append(std::string_view(&c, 1)); }
    void append_number(std::uint64_t n) {
        if (n < 1000) {
            // Status codes and small lengths: the usual case, without to_chars' generic loop.
            char d[3];
            std::size_t k = 0;
            if (n >= 100) {
                d[k++] = static_cast<char>('0' + n / 100);
            }
            if (n >= 10) {
                d[k++] = static_cast<char>('0' + n / 10 % 10);
            }
            d[k++] = static_cast<char>('0' + n % 10);
            append(std::string_view(d, k));
            return;
        }
        char digits[20];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
        (void)ec; // 20 digits hold any uint64_t
        append(std::string_view(digits, static_cast<std::size_t>(end - digits)));
    }
    [[nodiscard]] std::string_view view() const noexcept { return {_data.get(), _len}; }

private:
    void grow(std::size_t need) {
        std::size_t cap = _cap == 0 ? 512 : _cap * 2;
        while (cap < need) {
            cap *= 2;
        }
        auto bigger = std::make_unique<char[]>(cap);
        if (_len != 0) {
            std::memcpy(bigger.get(), _data.get(), _len);
        }
        _data = std::move(bigger);
        _cap = cap;
    }

    std::unique_ptr<char[]> _data;
    std::size_t _len = 0;
    std::size_t _cap = 0;
};

} // namespace percore::net::http::detail
