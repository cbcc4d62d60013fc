/// \file
/// \brief The io_uring operations the storage layer adds to runtime/io.hh: openat, fsync/fdatasync, fallocate,
/// statx, ftruncate, renameat, unlinkat, mkdirat. Results follow io_op: >= 0 on success, -errno on failure.
///
/// \warning Every pointer given to these ops (paths, the statx buffer) is read or written by the kernel until the
/// CQE: keep it alive and in place, as `co_await op(...)` on a temporary does for the op itself.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "runtime/io_op.hh"

struct statx;

namespace percore::storage::detail {

class openat_op final : public io_op {
public:
    openat_op(int dirfd, const char* path, int flags, mode_t mode) noexcept
        : _dirfd(dirfd)
        , _path(path)
        , _flags(flags)
        , _mode(mode) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _dirfd;
    const char* _path; // read by the kernel when the op runs
    int _flags;
    mode_t _mode;
};

/// fdatasync (`datasync`) or fsync.
class fsync_op final : public io_op {
public:
    fsync_op(int fd, bool datasync) noexcept
        : _fd(fd)
        , _datasync(datasync) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    bool _datasync;
};

class fallocate_op final : public io_op {
public:
    fallocate_op(int fd, int mode, std::uint64_t offset, std::uint64_t length) noexcept
        : _fd(fd)
        , _mode(mode)
        , _offset(offset)
        , _length(length) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    int _mode;
    std::uint64_t _offset;
    std::uint64_t _length;
};

class statx_op final : public io_op {
public:
    statx_op(int dirfd, const char* path, int flags, unsigned mask, struct statx* out) noexcept
        : _dirfd(dirfd)
        , _path(path)
        , _flags(flags)
        , _mask(mask)
        , _out(out) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _dirfd;
    const char* _path;
    int _flags;
    unsigned _mask;
    struct statx* _out; // written by the kernel until the CQE
};

/// IORING_OP_FTRUNCATE (Linux 6.9). Check ftruncate_supported() first: older kernels fail it with -EINVAL.
class ftruncate_op final : public io_op {
public:
    ftruncate_op(int fd, std::uint64_t length) noexcept
        : _fd(fd)
        , _length(length) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    std::uint64_t _length;
};

class renameat_op final : public io_op {
public:
    renameat_op(const char* from, const char* to) noexcept
        : _from(from)
        , _to(to) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    const char* _from;
    const char* _to;
};

class unlinkat_op final : public io_op {
public:
    unlinkat_op(const char* path, int flags) noexcept
        : _path(path)
        , _flags(flags) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    const char* _path;
    int _flags;
};

class mkdirat_op final : public io_op {
public:
    mkdirat_op(const char* path, mode_t mode) noexcept
        : _path(path)
        , _mode(mode) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    const char* _path;
    mode_t _mode;
};

/// Whether this shard's ring supports IORING_OP_FTRUNCATE (probed when the ring was set up) and the fallback is
/// not forced (fallbacks.hh). \shard_local
[[nodiscard]] bool ftruncate_supported() noexcept;

} // namespace percore::storage::detail
