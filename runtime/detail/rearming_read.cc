#include "runtime/detail/rearming_read.hh"

#include <cerrno>
#include <cstring>

#include <liburing.h>

#include "runtime/log.hh"
#include "runtime/uring.hh"

namespace percore::detail {

namespace {
logger read_log("reactor");
} // namespace

void rearming_read::start(int fd) {
    _fd = fd;
    arm();
}

void rearming_read::arm() {
    io_uring_sqe* sqe = _ring.get_sqe();
    io_uring_prep_read(sqe, _fd, _buf, _len, 0);
    io_uring_sqe_set_data(sqe, static_cast<io_completion*>(this));
}

void rearming_read::complete(int res, unsigned) noexcept {
    if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED) {
        read_log.error("reading {} failed ({}); it is no longer watched", _what, std::strerror(-res));
        return;
    }
    if (res > 0) {
        on_read(res);
    }
    arm();
}

} // namespace percore::detail
