/// \file
/// \brief A small levelled logger (fmt) that puts the shard id in every line.
///
/// \code
/// static percore::logger log("echo");
/// log.info("listening on {}:{}", addr, port);
/// // 2026-11-24 18:07:00.123456 INFO  [shard 0] echo: listening on 127.0.0.1:7000
/// \endcode
///
/// The level comes from `set_log_level()` or the environment variable PERCORE_LOG_LEVEL (error, warn, info, debug,
/// trace). Lines go to stderr with one write() each.
/// \warning write() to stderr can block the reactor if stderr is a full pipe; keep logging off hot paths.
#pragma once

#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace percore {

enum class log_level { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

/// \any_shard
void set_log_level(log_level level) noexcept;
[[nodiscard]] log_level get_log_level() noexcept;
[[nodiscard]] std::optional<log_level> parse_log_level(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(log_level level) noexcept;

/// Tags this thread's log lines with "[shard N]" (negative: no tag). The reactor sets it.
void set_log_shard_id(int shard) noexcept;

/// Where finished lines go (default: stderr). Install before starting threads; for tests and embedding.
using log_sink = void (*)(std::string_view line, void* context);
void set_log_sink(log_sink sink, void* context) noexcept;

class logger {
public:
    explicit constexpr logger(std::string_view name) noexcept
        : _name(name) {}

    [[nodiscard]] bool is_enabled(log_level level) const noexcept { return level <= get_log_level(); }

    template <typename... Args>
    void log(log_level level, fmt::format_string<Args...> format, Args&&... args) const {
        if (is_enabled(level)) {
            write(level, format, fmt::make_format_args(args...));
        }
    }
    template <typename... Args>
    void error(fmt::format_string<Args...> format, Args&&... args) const {
        log(log_level::error, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void warn(fmt::format_string<Args...> format, Args&&... args) const {
        log(log_level::warn, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void info(fmt::format_string<Args...> format, Args&&... args) const {
        log(log_level::info, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void debug(fmt::format_string<Args...> format, Args&&... args) const {
        log(log_level::debug, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void trace(fmt::format_string<Args...> format, Args&&... args) const {
        log(log_level::trace, format, std::forward<Args>(args)...);
    }

    [[nodiscard]] std::string_view name() const noexcept { return _name; }

private:
    void write(log_level level, fmt::string_view format, fmt::format_args args) const noexcept;
    std::string_view _name;
};

} // namespace percore
