#include "storage/detail/file_ops.hh"

#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

#include <liburing.h>

#include "runtime/reactor.hh"
#include "storage/fallbacks.hh"

namespace percore::storage::detail {

namespace {
// liburing 2.3 (Debian 12) predates IORING_OP_FTRUNCATE; its number is fixed by the kernel ABI (Linux 6.9).
constexpr unsigned op_ftruncate = 55;
} // namespace

void openat_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_openat(sqe, _dirfd, _path, _flags, _mode);
}

void fsync_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_fsync(sqe, _fd, _datasync ? IORING_FSYNC_DATASYNC : 0);
}

void fallocate_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_fallocate(sqe, _fd, _mode, _offset, _length);
}

void statx_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_statx(sqe, _dirfd, _path, _flags, _mask, _out);
}

void ftruncate_op::prepare(io_uring_sqe* sqe) noexcept {
    // Filled by hand: the kernel requires every field but fd and off (the new length) to be zero.
    std::memset(sqe, 0, sizeof *sqe);
    sqe->opcode = static_cast<std::uint8_t>(op_ftruncate);
    sqe->fd = _fd;
    sqe->off = _length;
}

void renameat_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_renameat(sqe, AT_FDCWD, _from, AT_FDCWD, _to, 0);
}

void unlinkat_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_unlinkat(sqe, AT_FDCWD, _path, _flags);
}

void mkdirat_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_mkdirat(sqe, AT_FDCWD, _path, _mode);
}

bool ftruncate_supported() noexcept {
    return ::percore::detail::tl_reactor != nullptr && ::percore::detail::tl_reactor->ring().supports(op_ftruncate) &&
           !fallback_forced(fallback::ftruncate);
}

} // namespace percore::storage::detail
