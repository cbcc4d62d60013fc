/// \file
/// \brief Helpers shared by the storage tests: payloads as strings, a log opened with its replay collected,
/// the errno a task failed with.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <doctest/doctest.h>

#include "storage/append_log.hh"

namespace percore::test {

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// The process's peak resident memory so far (VmHWM), in KiB; 0 if unreadable.
inline long peak_rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return 0;
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

/// numbered(first), numbered(first + 1), ... `count` of them.
inline std::vector<std::string> numbered_range(std::size_t first, std::size_t count) {
    std::vector<std::string> v;
    for (std::size_t i = first; i < first + count; ++i) {
        v.push_back(numbered(i));
    }
    return v;
}

/// The names in a directory, sorted (for segments: oldest first).
inline std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// The errno a task failed with (std::system_error), 0 if it succeeded; its message in `what` when given.
template <typename T>
task<int> error_of(task<T> t, std::string* what = nullptr) {
    try {
        co_await std::move(t);
    } catch (const std::system_error& e) {
        if (what != nullptr) {
            *what = e.what();
        }
        co_return e.code().value();
    }
    co_return 0;
}

} // namespace percore::test

/// Failed CHECKs comparing lists of records show them (the size, then the first few, shortened).
template <>
struct doctest::StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& v) {
        std::string out = "[" + std::to_string(v.size()) + "] {";
        for (std::size_t i = 0; i < v.size() && i < 6; ++i) {
            out += (i == 0 ? "\"" : ", \"") + v[i].substr(0, 24) + (v[i].size() > 24 ? "...\"" : "\"");
        }
        out += v.size() > 6 ? ", ...}" : "}";
        return out.c_str();
    }
};
