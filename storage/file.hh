/// \file
/// \brief `file`: a regular file driven through io_uring (open, positional read and write, fdatasync, fallocate,
/// truncate, size, close), in DMA mode (O_DIRECT, aligned buffers) where the file system supports it.
///
/// \code
/// using namespace percore::storage;
/// file f = co_await file::open(dir + "/data", open_flags::read_write | open_flags::create);
/// dma_buffer block(f.alignment(), 4096);                  // DMA mode wants aligned buffers, offsets and sizes
/// co_await f.write_at(0, block.data(), block.size());     // continues short writes; throws std::system_error
/// co_await f.datasync();                                  // "fdatasync <path>: No space left on device" ...
/// std::size_t n = co_await f.read_at(0, block.data(), block.size());   // short only at end of file
/// co_await f.close();
/// \endcode
///
/// Every failure raises `std::system_error` carrying the errno, with a message naming the operation and the path.
/// A `file` belongs to the shard that opened it; its operations are suspension points. Aborting a task that waits
/// on one raises `aborted` once the kernel gave the buffers back (see runtime/io_op.hh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>

#include "runtime/task.hh"

namespace percore::storage {

enum class open_flags : unsigned {
    read = 1,
    write = 2,
    read_write = 3,
    create = 4,    ///< O_CREAT; the parent directory is fsynced after the open (see file_options)
    exclusive = 8, ///< with create: fail with EEXIST when the file exists
    truncate = 16,
};
[[nodiscard]] constexpr open_flags operator|(open_flags a, open_flags b) noexcept {
    return static_cast<open_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
[[nodiscard]] constexpr bool has(open_flags set, open_flags f) noexcept {
    return (static_cast<unsigned>(set) & static_cast<unsigned>(f)) == static_cast<unsigned>(f);
}

enum class dma_mode : std::uint8_t {
    automatic, ///< O_DIRECT when the file system accepts it, buffered otherwise
    off,       ///< always buffered (the page cache)
    required,  ///< O_DIRECT or the open fails with EINVAL
};

struct file_options {
    dma_mode dma = dma_mode::automatic;
    mode_t permissions = 0644;
    /// With open_flags::create: fsync the parent directory after the open, so the new name survives a crash.
    bool sync_directory = true;
};

class file {
public:
    /// A closed file.
    file() noexcept = default;
    file(file&& o) noexcept
        : _fd(std::exchange(o._fd, -1))
        , _dma(o._dma)
        , _alignment(o._alignment)
        , _path(std::move(o._path)) {}
    file& operator=(file&& o) noexcept;
    file(const file&) = delete;
    file& operator=(const file&) = delete;
    /// Closes the descriptor with close(2) if close() was not awaited (close of a regular file does not wait for
    /// I/O, so this does not stall the reactor), losing nothing that was not lost anyway: nothing is synced.
    ~file();

    /// Opens `path`; in DMA mode when `options.dma` allows it and the file system supports O_DIRECT.
    /// \throws std::system_error "open <path>" (ENOENT, EACCES, EEXIST...). \shard_local
    static task<file> open(std::string path, open_flags flags, file_options options = {});

    /// Reads up to `len` bytes at `offset`; fewer only at the end of the file. In DMA mode `buf`, `offset` and
    /// `len` must be multiples of alignment() (else std::invalid_argument). \shard_local
    task<std::size_t> read_at(std::uint64_t offset, void* buf, std::size_t len);

    /// Writes all `len` bytes at `offset`, continuing after short writes. Same alignment rule as read_at.
    /// \throws std::system_error "write <path>" (ENOSPC, EIO...); some bytes may have been written. \shard_local
    task<> write_at(std::uint64_t offset, const void* buf, std::size_t len);

    /// fdatasync: the data written so far, and the metadata needed to read it back (the size), reach stable
    /// storage. A failure means the written data may be lost: never retry and trust it. \shard_local
    task<> datasync();
    /// fsync: datasync plus every other piece of metadata. \shard_local
    task<> sync();

    /// fallocate: reserves [offset, offset + len); the size grows unless `keep_size`. \shard_local
    task<> allocate(std::uint64_t offset, std::uint64_t len, bool keep_size = false);
    /// Sets the size to `len` (IORING_OP_FTRUNCATE; on kernels before 6.9, ftruncate(2) on the blocking pool,
    /// since it can wait for the journal). \shard_local
    task<> truncate(std::uint64_t len);
    /// The size in bytes (statx). \shard_local
    task<std::uint64_t> size();

    /// Closes the file; afterwards is_open() is false. \shard_local
    task<> close();

    [[nodiscard]] bool is_open() const noexcept { return _fd >= 0; }
    /// Opened with O_DIRECT: reads and writes bypass the page cache and must be aligned.
    [[nodiscard]] bool is_dma() const noexcept { return _dma; }
    /// Alignment of buffers, offsets and sizes in DMA mode (from statx STATX_DIOALIGN, else 4096); 1 otherwise.
    [[nodiscard]] std::size_t alignment() const noexcept { return _alignment; }
    [[nodiscard]] const std::string& path() const noexcept { return _path; }
    [[nodiscard]] int fd() const noexcept { return _fd; }

private:
    void check_alignment(std::uint64_t offset, const void* buf, std::size_t len, std::string_view op) const;
    void check_open(std::string_view op) const;

    int _fd = -1;
    bool _dma = false;
    std::size_t _alignment = 1;
    std::string _path;
};

/// Raises std::system_error(error, "<op> <path>"). The one format every storage error uses.
[[noreturn]] void throw_file_error(int error, std::string_view op, std::string_view path);

/// The directory part of `path` ("." when there is none).
[[nodiscard]] std::string parent_directory(std::string_view path);

/// fsyncs a directory, so the names created, renamed or removed in it survive a crash. \shard_local
task<> sync_directory(std::string path);
/// Creates a directory (an existing one is fine) and fsyncs its parent. \shard_local
task<> make_directory(std::string path, mode_t permissions = 0755);
/// Renames atomically (replacing `to`), then fsyncs the directories involved. \shard_local
task<> rename_file(std::string from, std::string to);
/// Removes a file; with `sync_dir`, fsyncs its directory afterwards. \shard_local
task<> remove_file(std::string path, bool sync_dir = true);

} // namespace percore::storage
