#include "apps/httpd/static_files.hh"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <system_error>
#include <unistd.h>

#include <climits>

#include "apps/httpd/content_type.hh"
#include "net/http/uri.hh"
#include "runtime/blocking.hh"
#include "storage/file.hh"

namespace percore::httpd {

namespace http = net::http;

namespace {

/// Cleans a decoded path: drops empty and "." segments. \return false for a ".." segment (or a NUL byte).
bool clean_path(std::string_view decoded, std::string& out) {
    out.clear();
    while (!decoded.empty()) {
        const std::size_t slash = decoded.find('/');
        const std::string_view seg = decoded.substr(0, slash);
        if (seg == "..") {
            return false;
        }
        if (seg.find('\0') != std::string_view::npos) {
            return false;
        }
        if (!seg.empty() && seg != ".") {
            if (!out.empty()) {
                out += '/';
            }
            out += seg;
        }
        if (slash == std::string_view::npos) {
            break;
        }
        decoded.remove_prefix(slash + 1);
    }
    return true;
}

int status_of(const std::system_error& e) noexcept {
    switch (e.code().value()) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
    case ELOOP:
        return 403;
    default:
        return 500;
    }
}

/// Whether the file open as `fd` really lies under `root` (a symlink may point anywhere).
bool beneath(int fd, const std::string& root) {
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char target[PATH_MAX];
    const ssize_t n = ::readlink(link, target, sizeof target);
    if (n <= 0 || static_cast<std::size_t>(n) >= sizeof target) {
        return false;
    }
    const std::string_view real(target, static_cast<std::size_t>(n));
    return real.size() > root.size() && real.substr(0, root.size()) == root &&
           (root == "/" || real[root.size()] == '/');
}

/// Streams `size` bytes of `f` in slices of `slice` bytes, each sent without a copy.
task<> stream_file(std::shared_ptr<storage::file> f, std::uint64_t size, std::size_t slice, http::body_writer& w) {
    std::uint64_t offset = 0;
    while (offset < size) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(slice, size - offset));
        net::buffer b(want);
        const std::size_t n = co_await f->read_at(offset, b.writable(), want);
        if (n == 0) {
            break; // the file shrank: the short body makes the server close the connection
        }
        b.trim(n);
        offset += n;
        co_await w.write(std::move(b));
    }
    co_await f->close();
}

} // namespace

task<std::string> resolve_root(std::string dir) {
    co_return co_await spawn_blocking([dir] {
        char real[PATH_MAX];
        if (::realpath(dir.c_str(), real) == nullptr) {
            throw std::system_error(errno, std::system_category(), "--root " + dir);
        }
        return std::string(real);
    });
}

static_files::static_files(static_options o)
    : _o(std::move(o))
    , _cache(_o.cache) {
}

task<http::response> static_files::serve(http::request& req) {
    std::string decoded;
    if (!http::percent_decode(req.param("path"), decoded)) {
        co_return http::response::error(400);
    }
    if (!clean_path(decoded, _key)) {
        co_return http::response::error(403);
    }
    const bool directory = decoded.empty() || decoded.back() == '/';
    if (directory) {
        _key += _key.empty() ? "index.html" : "/index.html";
    }
    const time_point now = clock_type::now();
    if (const file_cache::entry* e = _cache.find(_key, now)) {
        http::response r(200);
        r.set_content_type(e->content_type);
        r.set_body(e->data.share());
        co_return r;
    }
    co_return co_await load(_key, req.path(), directory);
}

task<http::response> static_files::load(std::string rel, std::string_view request_path, bool index) {
    std::string path = _o.root + "/" + rel;
    std::shared_ptr<storage::file> f;
    int failed = 0;
    try {
        f = std::make_shared<storage::file>(co_await storage::file::open(
            path, storage::open_flags::read, {.dma = storage::dma_mode::off, .sync_directory = false}));
    } catch (const std::system_error& e) {
        failed = status_of(e);
    }
    if (failed != 0) {
        co_return http::response::error(failed == 404 && index ? 403 : failed); // no directory listings
    }
    const int fd = f->fd();
    const std::string root = _o.root;
    const bool inside = co_await spawn_blocking([fd, root] { return beneath(fd, root); });
    if (!inside) {
        co_return http::response::error(403);
    }
    const std::uint64_t size = co_await f->size();
    const std::string_view type = content_type_for(rel);
    if (size <= _o.cache.max_file) {
        // One byte more than the size: an empty file still reads (a directory opens fine and fails here).
        net::buffer data(static_cast<std::size_t>(size) + 1);
        bool is_dir = false;
        try {
            const std::size_t n = co_await f->read_at(0, data.writable(), data.size());
            data.trim(std::min<std::size_t>(n, static_cast<std::size_t>(size))); // read_at is short only at EOF
        } catch (const std::system_error& e) {
            if (e.code().value() != EISDIR) {
                throw;
            }
            is_dir = true;
        }
        co_await f->close();
        if (is_dir) {
            // "/docs" names a directory: its index is "/docs/", so that relative links resolve under it.
            http::response r = http::response::error(301);
            r.add_header("Location", std::string(request_path) + "/");
            co_return r;
        }
        http::response r(200);
        r.set_content_type(type);
        r.set_body(data.share());
        _cache.insert(std::move(rel), std::move(data), type, clock_type::now());
        co_return r;
    }
    const std::size_t slice = _o.slice;
    co_return http::response::stream(
        200, type, [f, size, slice](http::body_writer& w) { return stream_file(f, size, slice, w); }, size);
}

} // namespace percore::httpd
