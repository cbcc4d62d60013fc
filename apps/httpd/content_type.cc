#include "apps/httpd/content_type.hh"

#include <array>
#include <utility>

#include "net/http/request.hh"

namespace percore::httpd {

namespace {
constexpr std::array<std::pair<std::string_view, std::string_view>, 30> types{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"map", "application/json"},
}};
} // namespace

std::string_view content_type_for(std::string_view file_name) noexcept {
    const std::size_t slash = file_name.rfind('/');
    const std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
    const std::size_t dot = base.rfind('.');
    if (dot != std::string_view::npos && dot + 1 < base.size()) {
        const std::string_view ext = base.substr(dot + 1);
        for (const auto& [e, type] : types) {
            if (net::http::iequals(ext, e)) {
                return type;
            }
        }
    }
    return "application/octet-stream";
}

} // namespace percore::httpd
