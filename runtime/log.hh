/// \file
/// \brief A small levelled logger (fmt): levels per component, text or JSON lines, shard id and timestamp on each.
///
/// \code
/// static percore::logger log("echo");
/// log.info("listening on {}:{}", addr, port);
/// // text: 2026-11-24 18:07:00.123456 INFO  [shard 0] echo: listening on 127.0.0.1:7000
/// // json: {"time":"2026-11-24T18:07:00.123456Z","level":"info","shard":0,"logger":"echo",
/// //        "message":"listening on 127.0.0.1:7000"}
/// percore::set_log_levels(percore::parse_log_levels("info,net=debug,kv=warn"));
/// percore::set_log_format(percore::log_format::json);
/// \endcode
///
/// Levels: a default level plus per-component ones; a logger named "net" or "net.<anything>" takes the level of
/// component "net" (the longest matching component wins). The engine flags --log-level and --log-format (or the
/// environment variables PERCORE_LOG_LEVEL and PERCORE_LOG_FORMAT) set them. Lines go to stderr with one write()
/// each; JSON lines escape quotes, backslashes and control characters, and replace invalid UTF-8 with U+FFFD.
/// A disabled level costs one relaxed load (two when a component is more verbose than the default).
/// \warning write() to stderr can block the reactor if stderr is a full pipe; keep logging off hot paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace percore {

enum class log_level { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

namespace detail {
/// The most verbose level any component logs at: the fast rejection in logger::is_enabled.
[[nodiscard]] log_level log_max_level() noexcept;
} // namespace detail

enum class log_format { text, json };

/// A default level and per-component levels (component name -> level).
struct log_levels {
    log_level level = log_level::info;
    std::vector<std::pair<std::string, log_level>> components;
};

/// Sets the default level; component levels stay. \any_shard
void set_log_level(log_level level) noexcept;
/// The default level.
[[nodiscard]] log_level get_log_level() noexcept;
/// Replaces the default and every component level. Meant for startup: each call keeps its table alive until exit.
/// \any_shard
void set_log_levels(const log_levels& levels);
/// The level a logger named `name` logs at.
[[nodiscard]] log_level log_level_for(std::string_view name) noexcept;
[[nodiscard]] std::optional<log_level> parse_log_level(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(log_level level) noexcept;
/// Parses "LEVEL", "COMPONENT=LEVEL" or a comma-separated list of them ("info,net=debug,kv=warn"); a list
/// without a bare LEVEL keeps `base`'s default. \throws std::invalid_argument naming the bad part.
[[nodiscard]] log_levels parse_log_levels(std::string_view spec, log_levels base = {});

/// \any_shard
void set_log_format(log_format format) noexcept;
[[nodiscard]] log_format get_log_format() noexcept;
/// "text" or "json".
[[nodiscard]] std::optional<log_format> parse_log_format(std::string_view name) noexcept;

/// Appends `text` to `out` as the inside of a JSON string (for tests and other JSON writers).
void append_json_escaped(std::string& out, std::string_view text);

/// Tags this thread's log lines with "[shard N]" (negative: no tag). The reactor sets it.
void set_log_shard_id(int shard) noexcept;

/// Where finished lines go (default: stderr). Install before starting threads; for tests and embedding.
using log_sink = void (*)(std::string_view line, void* context);
void set_log_sink(log_sink sink, void* context) noexcept;

class logger {
public:
    explicit constexpr logger(std::string_view name) noexcept
        : _name(name) {}

    [[nodiscard]] bool is_enabled(log_level level) const noexcept {
        return level <= detail::log_max_level() && level <= log_level_for(_name);
    }

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
