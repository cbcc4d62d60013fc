/// \file
/// \brief The data directory of percore-kv with persistence on: its lock file (one server per directory) and its
/// layout file (how many shards wrote the logs in it).
///
/// \code
/// auto lock = data_dir_lock::take(dir);          // nullopt + message when another process holds it
/// std::string why = check_layout(dir, shard_count());   // "" when the logs fit this many shards
/// \endcode
#pragma once

#include <optional>
#include <string>

namespace percore::kv {

/// An flock(2) on `<dir>/percore-kv.lock`, held until destruction (or the process's end).
class data_dir_lock {
public:
    /// Creates `dir` if needed and locks it. \return nullopt, with `error` saying why (held by another process,
    /// or the directory cannot be made). \blocking (open, flock without waiting; call it at start)
    static std::optional<data_dir_lock> take(const std::string& dir, std::string& error);
    data_dir_lock(data_dir_lock&& o) noexcept
        : _fd(o._fd) {
        o._fd = -1;
    }
    data_dir_lock& operator=(data_dir_lock&&) = delete;
    data_dir_lock(const data_dir_lock&) = delete;
    ~data_dir_lock();

private:
    explicit data_dir_lock(int fd) noexcept
        : _fd(fd) {}
    int _fd;
};

/// Takes the lock of `dir` for the rest of the process (idempotent: a directory already held by this process is
/// fine). \return false, with `error` saying why. Shard 0 only. \blocking (open, flock without waiting)
bool hold_data_dir(const std::string& dir, std::string& error);

/// Checks that the logs in `dir` were written by `shards` shards (a key's log is its slot's shard's), writing
/// `<dir>/percore-kv.shards` the first time. \return "" if so, else the message. \blocking (at start)
[[nodiscard]] std::string check_layout(const std::string& dir, unsigned shards);

} // namespace percore::kv
