/// \file
/// \brief `file_cache`: a shard's cache of small files, least recently used evicted first, each entry trusted for
/// a short time (then read again), so that edits to the served directory show up.
///
/// \code
/// file_cache cache({.max_bytes = 8 << 20, .max_file = 256 << 10, .ttl = 1s});
/// if (const file_cache::entry* e = cache.find("css/site.css", now)) { send(e->data.share()); }
/// cache.insert("css/site.css", std::move(bytes), "text/css", now);
/// \endcode
///
/// \shard_local One per shard: no locks, no sharing.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/buffer.hh"
#include "runtime/clock.hh"

namespace percore::httpd {

struct file_cache_options {
    /// Bytes of file contents held per shard (0: no cache).
    std::size_t max_bytes = 8 * 1024 * 1024;
    /// Files larger than this are never cached (they are streamed from storage).
    std::size_t max_file = 256 * 1024;
    /// How long an entry is served before the file is read again.
    std::chrono::milliseconds ttl{1000};
};

class file_cache {
public:
    struct entry {
        std::string key;
        net::buffer data; ///< shared (not copied) into each response
        std::string_view content_type;
        time_point loaded;
    };

    explicit file_cache(file_cache_options o) noexcept
        : _o(o) {}

    [[nodiscard]] const file_cache_options& options() const noexcept { return _o; }
    /// The fresh entry of `key`, marked most recently used; nullptr when absent or stale (then dropped).
    [[nodiscard]] const entry* find(std::string_view key, time_point now);
    /// Adds (or replaces) an entry, evicting the least recently used ones to stay within max_bytes.
    void insert(std::string key, net::buffer data, std::string_view content_type, time_point now);
    [[nodiscard]] std::size_t bytes() const noexcept { return _bytes; }
    [[nodiscard]] std::size_t size() const noexcept { return _lru.size(); }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    void erase(std::list<entry>::iterator it);

    file_cache_options _o;
    std::list<entry> _lru; ///< most recently used first
    std::unordered_map<std::string, std::list<entry>::iterator, string_hash, std::equal_to<>> _index;
    std::size_t _bytes = 0;
};

} // namespace percore::httpd
