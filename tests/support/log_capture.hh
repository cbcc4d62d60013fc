/// \file
/// \brief `log_capture`: collects the log lines written while it is alive, from any thread, to check what the
/// runtime reports.
///
/// \code
/// percore::test::log_capture log;
/// run_something();
/// CHECK(log.contains("leaked"));
/// \endcode
///
/// Create it before the threads that log start (set_log_sink's rule), and destroy it after they stopped.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/log.hh"

namespace percore::test {

class log_capture {
public:
    log_capture() {
        set_log_sink([](std::string_view line, void* self) { static_cast<log_capture*>(self)->add(line); }, this);
    }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    ~log_capture() { set_log_sink(nullptr, nullptr); }

    /// Whether a line containing every one of `needles` was written.
    [[nodiscard]] bool contains(std::initializer_list<std::string_view> needles) const {
        std::lock_guard lock(_mutex);
        for (const auto& l : _lines) {
            bool all = true;
            for (std::string_view n : needles) {
                all &= l.find(n) != std::string::npos;
            }
            if (all) {
                return true;
            }
        }
        return false;
    }

    [[nodiscard]] std::string all() const {
        std::lock_guard lock(_mutex);
        std::string out;
        for (const auto& l : _lines) {
            out += l;
        }
        return out;
    }

private:
    void add(std::string_view line) {
        std::lock_guard lock(_mutex);
        _lines.emplace_back(line);
    }

    mutable std::mutex _mutex;
    std::vector<std::string> _lines;
};

} // namespace percore::test
