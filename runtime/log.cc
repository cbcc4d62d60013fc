#include "runtime/log.hh"

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

namespace percore {

namespace {

std::atomic<int> g_level{static_cast<int>(log_level::info)};
std::atomic<log_sink> g_sink{nullptr};
std::atomic<void*> g_sink_context{nullptr};
constinit thread_local int tl_shard = -1;

const bool g_env_applied = [] {
    if (const char* env = std::getenv("PERCORE_LOG_LEVEL")) {
        if (auto level = parse_log_level(env)) {
            set_log_level(*level);
        }
    }
    return true;
}();

void write_all(int fd, const char* p, std::size_t n) noexcept {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w <= 0) {
            return; // nowhere to report a failing stderr
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

} // namespace

void set_log_level(log_level level) noexcept {
    g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

log_level get_log_level() noexcept {
    return static_cast<log_level>(g_level.load(std::memory_order_relaxed));
}

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
    for (int l = 0; l <= static_cast<int>(log_level::trace); ++l) {
        if (name == to_string(static_cast<log_level>(l))) {
            return static_cast<log_level>(l);
        }
    }
    return std::nullopt;
}

std::string_view to_string(log_level level) noexcept {
    switch (level) {
    case log_level::error:
        return "error";
    case log_level::warn:
        return "warn";
    case log_level::info:
        return "info";
    case log_level::debug:
        return "debug";
    case log_level::trace:
        return "trace";
    }
    return "?";
}

void set_log_shard_id(int shard) noexcept {
    tl_shard = shard;
}

void set_log_sink(log_sink sink, void* context) noexcept {
    g_sink_context.store(context, std::memory_order_relaxed);
    g_sink.store(sink, std::memory_order_release);
}

void logger::write(log_level level, fmt::string_view format, fmt::format_args args) const noexcept {
    static constexpr const char* tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};
    (void)g_env_applied;
    try {
        fmt::memory_buffer buf;
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        fmt::format_to(std::back_inserter(buf), "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06} {} ", utc.tm_year + 1900,
                       utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec / 1000,
                       tags[static_cast<int>(level)]);
        if (tl_shard >= 0) {
            fmt::format_to(std::back_inserter(buf), "[shard {}] ", tl_shard);
        }
        fmt::format_to(std::back_inserter(buf), "{}: ", _name);
        fmt::vformat_to(std::back_inserter(buf), format, args);
        buf.push_back('\n');
        std::string_view line(buf.data(), buf.size());
        if (log_sink sink = g_sink.load(std::memory_order_acquire)) {
            sink(line, g_sink_context.load(std::memory_order_relaxed));
        } else {
            write_all(STDERR_FILENO, line.data(), line.size());
        }
    } catch (...) {
        static constexpr char fallback[] = "percore: log formatting failed\n";
        write_all(STDERR_FILENO, fallback, sizeof(fallback) - 1);
    }
}

} // namespace percore
