/// \file
/// \brief Helpers shared by the append_log tests: payloads as strings, a log opened with its replay collected.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/append_log.hh"

namespace percore::test {

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// A log and the records its recovery replayed.
struct opened_log {
    std::unique_ptr<storage::append_log> log;
    std::vector<std::string> replayed;
};

inline task<opened_log> open_log(std::string dir, storage::log_options options = {}) {
    opened_log out;
    auto collect = [&out](std::span<const std::byte> r) {
        out.replayed.emplace_back(reinterpret_cast<const char*>(r.data()), r.size());
    };
    out.log = co_await storage::append_log::open(std::move(dir), options, collect);
    co_return out;
}

/// The records a fresh open of `dir` replays (the log is closed again).
inline task<std::vector<std::string>> replay(std::string dir, storage::log_options options = {}) {
    opened_log o = co_await open_log(std::move(dir), options);
    co_await o.log->close();
    co_return std::move(o.replayed);
}

/// "record-<i>-" padded with a pattern derived from i to `size` bytes.
inline std::string numbered(std::size_t i, std::size_t size = 40) {
    std::string s = "record-" + std::to_string(i) + "-";
    while (s.size() < size) {
        s.push_back(static_cast<char>('a' + (s.size() * 7 + i) % 26));
    }
    return s;
}

} // namespace percore::test
