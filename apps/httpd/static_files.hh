/// \file
/// \brief `static_files`: serves a directory over HTTP: GET and HEAD of `/{path...}`, read through storage/
/// (never sendfile), small files from a per-shard cache, large ones streamed in slices.
///
/// \code
/// auto files = std::make_shared<httpd::static_files>(httpd::static_options{.root = "/srv/www"});
/// router.add(http::method::get, "/{path...}", [files](http::request& r) { return files->serve(r); });
/// \endcode
///
/// Paths are percent-decoded; a ".." segment is refused (403), and a file whose real path (symlinks resolved)
/// lies outside the root is refused too (403). A directory is served by its index.html (a path to it without
/// the final '/' is redirected there); without one, 403: there are no directory listings.
///
/// \shard_local One per shard (the cache is the shard's).
#pragma once

#include <cstddef>
#include <string>

#include "apps/httpd/file_cache.hh"
#include "net/http/request.hh"
#include "net/http/response.hh"
#include "runtime/task.hh"

namespace percore::httpd {

struct static_options {
    /// The served directory, as an absolute path with symlinks resolved (see resolve_root()).
    std::string root;
    file_cache_options cache{};
    /// Bytes per read when a file is streamed.
    std::size_t slice = 64 * 1024;
};

/// The real path of `dir` (realpath(3), run on the blocking pool). \throws std::system_error naming it
[[nodiscard]] task<std::string> resolve_root(std::string dir);

class static_files {
public:
    explicit static_files(static_options o);

    /// Answers GET or HEAD for the path in req.param("path").
    [[nodiscard]] task<net::http::response> serve(net::http::request& req);

    [[nodiscard]] const file_cache& cache() const noexcept { return _cache; }

private:
    /// `index`: rel is the index.html of a directory the request named.
    task<net::http::response> load(std::string rel, std::string_view request_path, bool index);

    static_options _o;
    file_cache _cache;
    std::string _key; ///< scratch: the cleaned relative path of the current request
};

} // namespace percore::httpd
