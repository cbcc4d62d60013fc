/// \file
/// \brief `http::router`: maps a method and a path to a handler; path parameters; 404 and 405.
///
/// \code
/// http::router r;
/// r.add(http::method::get, "/hello", [](http::request&) -> task<http::response> {
///     co_return http::response::text(200, "Hello, World!\n");
/// });
/// r.add(http::method::get, "/users/{id}", show_user);       // req.param("id")
/// r.add(http::method::get, "/static/{path...}", serve_file);  // the rest of the path, slashes included
/// \endcode
///
/// Literal paths are found by hash; patterns are tried in the order they were added. A path some route matches
/// with another method gets 405 with an Allow header; none gets 404. HEAD uses the GET route unless a HEAD route
/// exists (the server drops the body). Matching is on the path as sent (still percent-encoded).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/http/request.hh"
#include "net/http/response.hh"
#include "runtime/task.hh"

namespace percore::net::http {

/// A request handler. The request (and every view in it) is valid until the returned task completes.
using handler = std::function<task<response>(request&)>;

class router {
public:
    /// Adds a route. Segments "{name}" match one path segment, a last segment "{name...}" the rest of the path
    /// (maybe empty). \throws std::invalid_argument for a pattern not starting with '/', a bad parameter, or more
    /// than request::max_params parameters
    router& add(method m, std::string_view pattern, handler h);
    /// The same for a method named by its text ("PURGE" too: any token).
    router& add(std::string_view method_name, std::string_view pattern, handler h);

    /// Finds the handler of `req` and sets its path parameters. \return nullptr when none: then `status` is 404
    /// or 405, and for 405 `allow` lists the methods the path has.
    [[nodiscard]] const handler* find(request& req, int& status, std::string& allow) const;

private:
    struct segment {
        std::string text; ///< literal text, or the parameter's name
        enum class kind : std::uint8_t { literal, param, rest } type = kind::literal;
    };
    struct route {
        method m;
        std::string method_text; ///< for method::other
        std::vector<segment> segments;
        handler h;
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };

    static bool match(const route& r, std::string_view path, request* req);
    static bool method_matches(const route& r, const request& req, bool head_as_get) noexcept;

    std::vector<route> _routes;
    /// The routes (indices into _routes) of a literal path; nullptr when none.
    [[nodiscard]] const std::vector<std::size_t>* literal_routes(std::string_view path) const noexcept;

    /// literal path -> its routes (indices into _routes)
    std::unordered_map<std::string, std::vector<std::size_t>, string_hash, std::equal_to<>> _literal;
    /// The same while there are few: comparing a handful of short strings beats hashing the path.
    std::vector<std::pair<std::string, std::vector<std::size_t>>> _literal_few;
    static constexpr std::size_t few = 8;
    std::vector<std::size_t> _patterns;
};

} // namespace percore::net::http
