/// \file
/// \brief `http::request`: one parsed HTTP/1.x request, as a handler sees it.
///
/// \code
/// task<http::response> show_user(http::request& req) {
///     std::string_view id = req.param("id");                 // from the route "/users/{id}"
///     std::string_view agent = req.header("user-agent");     // case-insensitive; "" when absent
///     co_return http::response::text(200, "user " + std::string(id) + "\n");
/// }
/// \endcode
///
/// Every `string_view` points into the connection's receive buffer (or its carry-over storage, when a head
/// spanned several receives): valid until the handler's task completes, not after. Copy what must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace percore::net::http {

enum class method : std::uint8_t { get, head, post, put, delete_, patch, options, trace, connect, other };

/// "GET" -> method::get...; anything else -> method::other (the text stays in request::method_name()).
[[nodiscard]] method parse_method(std::string_view name) noexcept;
[[nodiscard]] std::string_view method_name(method m) noexcept;

struct header_field {
    std::string_view name;
    std::string_view value; ///< without leading and trailing whitespace
};

/// ASCII case-insensitive equality (header names, tokens).
[[nodiscard]] inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        // Setting bit 5 lower-cases letters; a mismatch the bit hides is told apart by the letter test.
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z')) {
            return false;
        }
    }
    return true;
}

class request {
public:
    [[nodiscard]] http::method method() const noexcept { return _method; }
    [[nodiscard]] std::string_view method_name() const noexcept { return _method_name; }
    /// The request target as sent ("/a/b?x=1", or "http://host/a/b?x=1" in absolute form).
    [[nodiscard]] std::string_view target() const noexcept { return _target; }
    /// The path of the target, still percent-encoded ("/a/b"); "*" for "OPTIONS *".
    [[nodiscard]] std::string_view path() const noexcept { return _path; }
    /// The query string without its '?' ("" when none).
    [[nodiscard]] std::string_view query() const noexcept { return _query; }
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    [[nodiscard]] int version_minor() const noexcept { return _version_minor; }
    [[nodiscard]] const std::vector<header_field>& headers() const noexcept { return *_headers; }
    /// The first value of header `name` (case-insensitive); "" when absent.
    [[nodiscard]] std::string_view header(std::string_view name) const noexcept;
    [[nodiscard]] bool has_header(std::string_view name) const noexcept;
    /// The body, de-chunked; "" when none.
    [[nodiscard]] std::string_view body() const noexcept { return _body; }
    /// A path parameter of the matched route ("{id}"), still percent-encoded; "" when the route has none.
    [[nodiscard]] std::string_view param(std::string_view name) const noexcept;
    /// Whether the connection stays open after this request (HTTP/1.1 unless "Connection: close", HTTP/1.0 with
    /// "Connection: keep-alive").
    [[nodiscard]] bool keep_alive() const noexcept { return _keep_alive; }

    // Filled by the parser and the router.
    void set_line(http::method m, std::string_view name, std::string_view target, std::string_view path,
                  std::string_view query, int version_minor) noexcept {
        _method = m;
        _method_name = name;
        _target = target;
        _path = path;
        _query = query;
        _version_minor = version_minor;
    }
    void set_headers(const std::vector<header_field>* h) noexcept { _headers = h; }
    void set_body(std::string_view b) noexcept { _body = b; }
    void set_keep_alive(bool k) noexcept { _keep_alive = k; }
    void clear_params() noexcept { _param_count = 0; }
    /// \return false when the route has more parameters than a request holds (max_params)
    bool add_param(std::string_view name, std::string_view value) noexcept {
        if (_param_count == max_params) {
            return false;
        }
        _params[_param_count++] = {name, value};
        return true;
    }

    static constexpr std::size_t max_params = 8;

private:
    static const std::vector<header_field> no_headers;

    http::method _method = http::method::get;
    std::string_view _method_name;
    std::string_view _target;
    std::string_view _path;
    std::string_view _query;
    int _version_minor = 1;
    const std::vector<header_field>* _headers = &no_headers;
    std::string_view _body;
    bool _keep_alive = true;
    std::pair<std::string_view, std::string_view> _params[max_params];
    std::size_t _param_count = 0;
};

} // namespace percore::net::http
