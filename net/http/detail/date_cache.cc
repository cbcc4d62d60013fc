#include "net/http/detail/date_cache.hh"

#include <ctime>

namespace percore::net::http::detail {

namespace {
struct date_cache {
    std::time_t second = -1;
    char text[32]{};
    std::size_t size = 0;
};
thread_local date_cache tl_date;
} // namespace

std::string_view http_date() noexcept {
    // CLOCK_REALTIME_COARSE is a vDSO read of the last tick: a few ns, and a second's resolution is all we need.
    timespec now{};
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    date_cache& c = tl_date;
    if (now.tv_sec != c.second) {
        std::tm tm{};
        gmtime_r(&now.tv_sec, &tm);
        c.size = std::strftime(c.text, sizeof c.text, "%a, %d %b %Y %H:%M:%S GMT", &tm); // C locale names
        c.second = now.tv_sec;
    }
    return {c.text, c.size};
}

} // namespace percore::net::http::detail
