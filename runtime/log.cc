#include "runtime/log.hh"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unistd.h>

namespace percore {

namespace {

/// Component levels; immutable once published (readers on any thread use it without a lock).
struct level_table {
    std::vector<std::pair<std::string, log_level>> components;
};

std::atomic<int> g_level{static_cast<int>(log_level::info)};
std::atomic<int> g_max_level{static_cast<int>(log_level::info)};
std::atomic<const level_table*> g_table{nullptr};
std::atomic<int> g_format{static_cast<int>(log_format::text)};
std::atomic<log_sink> g_sink{nullptr};
std::atomic<void*> g_sink_context{nullptr};
constinit thread_local int tl_shard = -1;

std::mutex& tables_mutex() {
    static std::mutex m;
    return m;
}
/// Every table ever published: a reader may still hold an older one, so none is ever freed (not even by static
/// destructors at exit, while another thread may still log).
std::vector<std::unique_ptr<level_table>>& tables() {
    static auto* t = new std::vector<std::unique_ptr<level_table>>();
    return *t;
}

void update_max_level() noexcept {
    int max = g_level.load(std::memory_order_relaxed);
    if (const level_table* t = g_table.load(std::memory_order_acquire)) {
        for (const auto& c : t->components) {
            max = std::max(max, static_cast<int>(c.second));
        }
    }
    g_max_level.store(max, std::memory_order_relaxed);
}

const bool g_env_applied = [] {
    if (const char* env = std::getenv("PERCORE_LOG_LEVEL")) {
        try {
            set_log_levels(parse_log_levels(env));
        } catch (const std::exception&) {
            // a bad variable leaves the default; the engine's --log-level reports errors
        }
    }
    if (const char* env = std::getenv("PERCORE_LOG_FORMAT")) {
        if (auto f = parse_log_format(env)) {
            set_log_format(*f);
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

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Length of the valid UTF-8 sequence at the start of `s` (0 if invalid).
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < n) {
        return 0;
    }
    for (std::size_t i = 1; i < n; ++i) {
        if ((b(i) & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (b(i) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0; // overlong, beyond Unicode, or a surrogate
    }
    return n;
}

} // namespace

namespace detail {
log_level log_max_level() noexcept {
    return static_cast<log_level>(g_max_level.load(std::memory_order_relaxed));
}
} // namespace detail

void set_log_level(log_level level) noexcept {
    g_level.store(static_cast<int>(level), std::memory_order_relaxed);
    update_max_level();
}

log_level get_log_level() noexcept {
    return static_cast<log_level>(g_level.load(std::memory_order_relaxed));
}

void set_log_levels(const log_levels& levels) {
    std::lock_guard lock(tables_mutex());
    const level_table* published = nullptr;
    if (!levels.components.empty()) {
        tables().push_back(std::make_unique<level_table>(level_table{levels.components}));
        published = tables().back().get();
    }
    g_level.store(static_cast<int>(levels.level), std::memory_order_relaxed);
    g_table.store(published, std::memory_order_release);
    update_max_level();
}

log_level log_level_for(std::string_view name) noexcept {
    const level_table* t = g_table.load(std::memory_order_acquire);
    if (t == nullptr) {
        return get_log_level();
    }
    std::size_t best = 0;
    log_level level = get_log_level();
    for (const auto& [component, l] : t->components) {
        const bool match = name == component || (name.size() > component.size() && name.starts_with(component) &&
                                                 name[component.size()] == '.');
        if (match && component.size() >= best) {
            best = component.size();
            level = l;
        }
    }
    return level;
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

log_levels parse_log_levels(std::string_view spec, log_levels base) {
    if (trim(spec).empty()) {
        throw std::invalid_argument("log level is empty");
    }
    while (true) {
        const auto comma = spec.find(',');
        const std::string_view part = trim(spec.substr(0, comma));
        const auto eq = part.find('=');
        const std::string_view level_text = trim(eq == std::string_view::npos ? part : part.substr(eq + 1));
        const auto level = parse_log_level(level_text);
        if (!level) {
            throw std::invalid_argument("log level must be error, warn, info, debug or trace, got '" +
                                        std::string(level_text) + "'");
        }
        if (eq == std::string_view::npos) {
            base.level = *level;
        } else {
            const std::string component(trim(part.substr(0, eq)));
            if (component.empty()) {
                throw std::invalid_argument("log level '" + std::string(part) + "' names no component");
            }
            std::erase_if(base.components, [&](const auto& c) { return c.first == component; });
            base.components.emplace_back(component, *level);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        spec.remove_prefix(comma + 1);
    }
    return base;
}

void set_log_format(log_format format) noexcept {
    g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

log_format get_log_format() noexcept {
    return static_cast<log_format>(g_format.load(std::memory_order_relaxed));
}

std::optional<log_format> parse_log_format(std::string_view name) noexcept {
    if (name == "text") {
        return log_format::text;
    }
    if (name == "json") {
        return log_format::json;
    }
    return std::nullopt;
}

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    while (!text.empty()) {
        const auto c = static_cast<unsigned char>(text.front());
        std::size_t used = 1;
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (std::size_t n = utf8_sequence(text)) {
            out.append(text.substr(0, n));
            used = n;
        } else {
            out += "\\ufffd"; // one replacement per invalid byte
        }
        text.remove_prefix(used);
    }
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
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm utc{};
        gmtime_r(&ts.tv_sec, &utc);
        std::string line;
        if (get_log_format() == log_format::json) {
            fmt::memory_buffer message;
            fmt::vformat_to(std::back_inserter(message), format, args);
            line = fmt::format("{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z\",\"level\":\"{}\",",
                               utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                               ts.tv_nsec / 1000, to_string(level));
            line += tl_shard >= 0 ? fmt::format("\"shard\":{},", tl_shard) : std::string("\"shard\":null,");
            line += "\"logger\":\"";
            append_json_escaped(line, _name);
            line += "\",\"message\":\"";
            append_json_escaped(line, std::string_view(message.data(), message.size()));
            line += "\"}\n";
        } else {
            fmt::memory_buffer buf;
            fmt::format_to(std::back_inserter(buf), "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06} {} ", utc.tm_year + 1900,
                           utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec / 1000,
                           tags[static_cast<int>(level)]);
            if (tl_shard >= 0) {
                fmt::format_to(std::back_inserter(buf), "[shard {}] ", tl_shard);
            }
            fmt::format_to(std::back_inserter(buf), "{}: ", _name);
            fmt::vformat_to(std::back_inserter(buf), format, args);
            buf.push_back('\n');
            line.assign(buf.data(), buf.size());
        }
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
