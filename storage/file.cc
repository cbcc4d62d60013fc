#include "storage/file.hh"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "runtime/blocking.hh"
#include "runtime/defer.hh"
#include "runtime/io.hh"
#include "storage/detail/file_ops.hh"
#include "storage/detail/power_loss_hooks.hh"
#include "storage/dma_buffer.hh"
#include "storage/fallbacks.hh"
#include "storage/fault_injection.hh"

namespace percore::storage {

namespace {

// One submission moves at most this much: io_uring lengths are 32-bit, and the kernel caps a single read or
// write at about 2 GiB anyway.
constexpr std::size_t max_chunk = std::size_t{1} << 30;

int to_posix(open_flags flags) noexcept {
    int f = O_CLOEXEC;
    if (has(flags, open_flags::read_write)) {
        f |= O_RDWR;
    } else if (has(flags, open_flags::write)) {
        f |= O_WRONLY;
    } else {
        f |= O_RDONLY;
    }
    f |= has(flags, open_flags::create) ? O_CREAT : 0;
    f |= has(flags, open_flags::exclusive) ? O_EXCL : 0;
    f |= has(flags, open_flags::truncate) ? O_TRUNC : 0;
    return f;
}

bool retryable(int res) noexcept {
    return res == -EINTR || res == -EAGAIN;
}

/// fdatasync or fsync of `path` (null: a directory) through io_uring, behind the fault-injection and power-loss
/// hooks. \return 0 or -errno
task<int> sync_fd(int fd, bool datasync, const std::string* path) {
    const storage::detail::injected_fault fault = storage::detail::next_fault(fault_op::sync);
    if (fault.error != 0) {
        co_return -fault.error;
    }
    if (!detail::power_loss_armed()) {
        co_return co_await detail::fsync_op(fd, datasync);
    }
    const std::int64_t ticket = detail::power_loss_begin_sync(path);
    if (ticket < 0) {
        co_return static_cast<int>(ticket);
    }
    const int r = co_await detail::fsync_op(fd, datasync);
    co_return detail::power_loss_end_sync(path, ticket, r);
}

/// Brackets a change of `f` for the power-loss simulation: end_change when it goes out of scope.
class tracked_change {
public:
    explicit tracked_change(const std::string& path) noexcept
        : _path(path) {}
    tracked_change(const tracked_change&) = delete;
    tracked_change& operator=(const tracked_change&) = delete;
    ~tracked_change() {
        if (_id > 0) {
            detail::power_loss_end_change(_path, _id);
        }
    }
    /// Records the change (call only when armed: a coroutine call per write otherwise); throws EIO "<op> <path>"
    /// when the power is off.
    task<> begin(file& f, detail::change_kind kind, std::uint64_t offset, std::uint64_t length, std::string_view op,
                 const void* data = nullptr) {
        const std::int64_t id = co_await detail::power_loss_begin_change(f, kind, offset, length, data);
        if (id < 0) {
            throw_file_error(static_cast<int>(-id), op, _path);
        }
        _id = id;
    }

private:
    const std::string& _path;
    std::int64_t _id = 0;
};

} // namespace

[[noreturn]] void throw_file_error(int error, std::string_view op, std::string_view path) {
    std::string what(op);
    what += ' ';
    what += path;
    throw std::system_error(error, std::system_category(), what);
}

std::string parent_directory(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);
    }
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos) {
        return ".";
    }
    return slash == 0 ? std::string("/") : std::string(path.substr(0, slash));
}

file& file::operator=(file&& o) noexcept {
    if (this != &o) {
        if (_fd >= 0) {
            ::close(_fd);
        }
        _fd = std::exchange(o._fd, -1);
        _dma = o._dma;
        _alignment = o._alignment;
        _path = std::move(o._path);
    }
    return *this;
}

file::~file() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

task<file> file::open(std::string path, open_flags flags, file_options options) {
    const int fd = co_await detail::openat_op(AT_FDCWD, path.c_str(), to_posix(flags), options.permissions);
    if (fd < 0) {
        throw_file_error(-fd, "open", path);
    }
    file f;
    f._fd = fd;
    f._path = std::move(path);
    // Opened buffered first, then switched to O_DIRECT: a file system that refuses O_DIRECT at open time may have
    // created the file before refusing, which would break a retry with O_EXCL. F_SETFL does no I/O.
    if (options.dma != dma_mode::off) {
        int error = EINVAL; // a forced `dma` fallback answers as a file system without O_DIRECT (fallbacks.hh)
        if (!fallback_forced(fallback::dma)) {
            const int fl = ::fcntl(fd, F_GETFL);
            if (fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) {
                f._dma = true;
            } else {
                error = errno;
            }
        }
        if (!f._dma && options.dma == dma_mode::required) {
            throw_file_error(error, "open (O_DIRECT)", f._path);
        }
    }
    if (f._dma) {
        f._alignment = default_dma_alignment; // without STATX_DIOALIGN (before Linux 6.1, or forced `dioalign`)
        if (!fallback_forced(fallback::dioalign)) {
            struct statx st {};
            const int r = co_await detail::statx_op(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st);
            if (r == 0 && (st.stx_mask & STATX_DIOALIGN) != 0 && st.stx_dio_offset_align != 0) {
                f._alignment = std::max<std::size_t>(st.stx_dio_mem_align, st.stx_dio_offset_align);
            }
        }
    }
    if (has(flags, open_flags::create) && options.sync_directory) {
        co_await sync_directory(parent_directory(f._path));
    }
    co_return f;
}

void file::check_open(std::string_view op) const {
    if (_fd < 0) {
        throw_file_error(EBADF, op, _path);
    }
}

void file::check_alignment(std::uint64_t offset, const void* buf, std::size_t len, std::string_view op) const {
    if (!_dma) {
        return;
    }
    const auto addr = reinterpret_cast<std::uintptr_t>(buf);
    if (offset % _alignment != 0 || addr % _alignment != 0 || len % _alignment != 0) {
        throw std::invalid_argument(std::string(op) + " " + _path + ": DMA mode needs buffer, offset and length " +
                                    "aligned to " + std::to_string(_alignment) + " bytes");
    }
}

task<std::size_t> file::read_at(std::uint64_t offset, void* buf, std::size_t len) {
    check_open("read");
    check_alignment(offset, buf, len, "read");
    auto* p = static_cast<std::byte*>(buf);
    std::size_t done = 0;
    while (done < len) {
        const auto chunk = static_cast<unsigned>(std::min(len - done, max_chunk));
        const int n = co_await io::read(_fd, p + done, chunk, offset + done);
        if (retryable(n)) {
            continue;
        }
        if (n < 0) {
            throw_file_error(-n, "read", _path);
        }
        if (n == 0) {
            break; // end of file
        }
        done += static_cast<std::size_t>(n);
        if (_dma && done % _alignment != 0) {
            break; // O_DIRECT reads short only at the end of the file
        }
    }
    co_return done;
}

task<> file::write_at(std::uint64_t offset, const void* buf, std::size_t len) {
    check_open("write");
    check_alignment(offset, buf, len, "write");
    tracked_change change(_path);
    if (detail::power_loss_armed()) {
        co_await change.begin(*this, detail::change_kind::write, offset, len, "write", buf);
    }
    const auto* p = static_cast<const std::byte*>(buf);
    std::size_t done = 0;
    while (done < len) {
        auto chunk = static_cast<unsigned>(std::min(len - done, max_chunk));
        const storage::detail::injected_fault fault = storage::detail::next_fault(fault_op::write);
        if (fault.error != 0 && fault.effect == fault_effect::fail) {
            throw_file_error(fault.error, "write", _path);
        }
        if (fault.error != 0) {
            chunk = static_cast<unsigned>(_dma ? align_down(chunk / 2, _alignment) : chunk / 2);
        }
        int n = 0;
        if (chunk != 0) {
            n = co_await io::write(_fd, p + done, chunk, offset + done);
        }
        if (fault.error != 0 && n >= 0) {
            n = -fault.error; // the torn write: half of it reached the file, then the device gave up
        }
        if (retryable(n)) {
            continue;
        }
        if (n < 0) {
            throw_file_error(-n, "write", _path);
        }
        if (n == 0) {
            throw_file_error(EIO, "write (no progress)", _path);
        }
        done += static_cast<std::size_t>(n);
    }
}

task<> file::datasync() {
    check_open("fdatasync");
    const int r = co_await sync_fd(_fd, true, &_path);
    if (r < 0) {
        throw_file_error(-r, "fdatasync", _path);
    }
}

task<> file::sync() {
    check_open("fsync");
    const int r = co_await sync_fd(_fd, false, &_path);
    if (r < 0) {
        throw_file_error(-r, "fsync", _path);
    }
}

task<> file::allocate(std::uint64_t offset, std::uint64_t len, bool keep_size) {
    check_open("fallocate");
    tracked_change change(_path);
    if (!keep_size && detail::power_loss_armed()) {
        co_await change.begin(*this, detail::change_kind::extend, offset, len, "fallocate");
    }
    const int r = co_await detail::fallocate_op(_fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, offset, len);
    if (r < 0) {
        throw_file_error(-r, "fallocate", _path);
    }
}

task<> file::truncate(std::uint64_t len) {
    check_open("ftruncate");
    tracked_change change(_path);
    if (detail::power_loss_armed()) {
        co_await change.begin(*this, detail::change_kind::truncate, len, 0, "ftruncate");
    }
    int r = 0;
    if (detail::ftruncate_supported()) {
        r = co_await detail::ftruncate_op(_fd, len);
    } else {
        const int fd = _fd;
        auto job = [fd, len] { return ::ftruncate(fd, static_cast<off_t>(len)) == 0 ? 0 : -errno; };
        r = co_await spawn_blocking(job);
    }
    if (r < 0) {
        throw_file_error(-r, "ftruncate", _path);
    }
}

task<std::uint64_t> file::size() {
    check_open("statx");
    struct statx st {};
    const int r = co_await detail::statx_op(_fd, "", AT_EMPTY_PATH, STATX_SIZE, &st);
    if (r < 0) {
        throw_file_error(-r, "statx", _path);
    }
    co_return st.stx_size;
}

task<> file::close() {
    if (_fd < 0) {
        co_return;
    }
    const int fd = std::exchange(_fd, -1);
    const int r = co_await io::close(fd);
    if (r < 0) {
        throw_file_error(-r, "close", _path);
    }
}

task<> sync_directory(std::string path) {
    const int fd = co_await detail::openat_op(AT_FDCWD, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) {
        throw_file_error(-fd, "open directory", path);
    }
    auto close_on_unwind = defer([fd] { ::close(fd); }); // an abort while syncing must not leak the descriptor
    const int r = co_await sync_fd(fd, false, nullptr);
    close_on_unwind.cancel();
    const int c = co_await io::close(fd);
    if (r < 0) {
        throw_file_error(-r, "fsync directory", path);
    }
    if (c < 0) {
        throw_file_error(-c, "close directory", path);
    }
}

task<> make_directory(std::string path, mode_t permissions) {
    const int r = co_await detail::mkdirat_op(path.c_str(), permissions);
    if (r < 0 && r != -EEXIST) {
        throw_file_error(-r, "mkdir", path);
    }
    if (r == 0) {
        co_await sync_directory(parent_directory(path));
    }
}

task<> rename_file(std::string from, std::string to) {
    const int r = co_await detail::renameat_op(from.c_str(), to.c_str());
    if (r < 0) {
        throw_file_error(-r, "rename " + from + " to", to);
    }
    const std::string to_dir = parent_directory(to);
    const std::string from_dir = parent_directory(from);
    co_await sync_directory(to_dir);
    if (from_dir != to_dir) {
        co_await sync_directory(from_dir);
    }
}

task<> remove_file(std::string path, bool sync_dir) {
    const int r = co_await detail::unlinkat_op(path.c_str(), 0);
    if (r < 0) {
        throw_file_error(-r, "unlink", path);
    }
    if (sync_dir) {
        co_await sync_directory(parent_directory(path));
    }
}

} // namespace percore::storage
