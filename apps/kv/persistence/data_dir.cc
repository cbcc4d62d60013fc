#include "apps/kv/persistence/data_dir.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/file.h>
#include <unistd.h>
#include <vector>

namespace percore::kv {

std::optional<data_dir_lock> data_dir_lock::take(const std::string& dir, std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        error = "cannot create the data directory " + dir + ": " + ec.message();
        return std::nullopt;
    }
    const std::string path = dir + "/percore-kv.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = "cannot open the lock file " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        ::close(fd);
        error = e == EWOULDBLOCK ? "the data directory " + dir + " is in use by another process (it holds " + path +
                                       "): give each server its own --dir"
                                 : "cannot lock " + path + ": " + std::strerror(e);
        return std::nullopt;
    }
    // Who holds it, for whoever looks (the lock itself is the flock, not the content).
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        (void)!::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return data_dir_lock(fd);
}

data_dir_lock::~data_dir_lock() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

bool hold_data_dir(const std::string& dir, std::string& error) {
    // The process keeps the lock of every directory it logged to (a directory is rarely changed at run time).
    static std::vector<std::pair<std::string, data_dir_lock>> held; // shard 0's only
    std::error_code ec;
    const std::string canonical = std::filesystem::weakly_canonical(dir, ec).string();
    for (const auto& [d, l] : held) {
        if (d == canonical) {
            return true;
        }
    }
    auto lock = data_dir_lock::take(dir, error);
    if (!lock) {
        return false;
    }
    held.emplace_back(canonical, std::move(*lock));
    return true;
}

std::string check_layout(const std::string& dir, unsigned shards) {
    const std::string path = dir + "/percore-kv.shards";
    std::ifstream in(path);
    unsigned written = 0;
    if (in >> written) {
        if (written != shards) {
            return "the logs in " + dir + " were written by " + std::to_string(written) +
                   " shards (each holds its own slots' keys): start with --shards " + std::to_string(written);
        }
        return "";
    }
    // No layout file: a directory with no logs yet (or logs of an older build, which had no persistence).
    std::error_code ec;
    if (std::filesystem::exists(dir + "/shard-" + std::to_string(shards), ec)) {
        return "the data directory " + dir + " holds shard-" + std::to_string(shards) + " but no " + path +
               ": start with as many shards as wrote it";
    }
    std::ofstream out(path, std::ios::trunc);
    out << shards << "\n";
    out.flush();
    if (!out) {
        return "cannot write " + path;
    }
    return "";
}

} // namespace percore::kv
