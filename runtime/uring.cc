#include "runtime/uring.hh"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <new>
#include <sys/resource.h>

#include <liburing.h>

#include "runtime/detail/io_completion.hh"

namespace percore {

const char* to_string(uring_mode mode) noexcept {
    switch (mode) {
    case uring_mode::automatic:
        return "automatic";
    case uring_mode::defer_taskrun:
        return "defer_taskrun";
    case uring_mode::coop_taskrun:
        return "coop_taskrun";
    case uring_mode::plain:
        return "plain";
    }
    return "?";
}

namespace {

std::string errno_name(int error) {
    const char* name = strerrorname_np(error);
    return name != nullptr ? name : "errno " + std::to_string(error);
}

int read_io_uring_disabled_sysctl() {
    std::ifstream in("/proc/sys/kernel/io_uring_disabled");
    int value = -1;
    in >> value;
    return in ? value : -1;
}

struct attempt {
    uring_mode mode;
    unsigned flags;
};

// Fastest first. SUBMIT_ALL keeps one bad SQE from holding back the rest of a batch; CQSIZE leaves room for
// bursts of completions (multishot receives) before the kernel has to buffer overflow.
constexpr attempt attempts[] = {
    {uring_mode::defer_taskrun, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
                                    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE},
    {uring_mode::coop_taskrun,
     IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE},
    {uring_mode::plain, IORING_SETUP_CQSIZE},
    {uring_mode::plain, 0},
};

} // namespace

std::string describe_uring_setup_failure(int error) {
    std::string msg = "io_uring_setup failed with " + errno_name(error) + " (" + std::strerror(error) + "): ";
    switch (error) {
    case EPERM:
    case EACCES:
        switch (read_io_uring_disabled_sysctl()) {
        case 2:
            return msg + "io_uring is disabled on this machine (sysctl kernel.io_uring_disabled=2); "
                         "set it to 0 to run percore";
        case 1:
            return msg + "io_uring is restricted to privileged processes (sysctl kernel.io_uring_disabled=1); "
                         "add this user to the group in kernel.io_uring_group or set the sysctl to 0";
        default:
            return msg + "a seccomp filter or container policy forbids io_uring (Docker's and Podman's default "
                         "seccomp profiles do); run with a profile that allows io_uring_setup, io_uring_enter "
                         "and io_uring_register";
        }
    case ENOSYS:
        return msg + "this kernel has no io_uring (or a seccomp filter hides it); percore needs Linux 5.19 or newer "
                     "with CONFIG_IO_URING";
    case ENOMEM: {
        rlimit lim{};
        getrlimit(RLIMIT_MEMLOCK, &lim);
        std::string cur = lim.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(lim.rlim_cur / 1024) + " KiB";
        return msg + "not enough lockable memory for the ring (RLIMIT_MEMLOCK is " + cur +
               "); raise it (ulimit -l, LimitMEMLOCK= in systemd) or use fewer ring entries";
    }
    case EMFILE:
    case ENFILE:
        return msg + "out of file descriptors; raise the open-files limit (ulimit -n)";
    case EINVAL:
        return msg + "the kernel rejected even a ring without optional features; percore needs Linux 5.19 or newer";
    default:
        return msg + "unexpected error";
    }
}

uring::uring(const uring_config& config)
    : _ring(std::make_unique<io_uring>()) {
    int last_error = EINVAL;
    bool ok = false;
    for (const attempt& a : attempts) {
        if (config.mode != uring_mode::automatic && config.mode != a.mode) {
            continue;
        }
        io_uring_params params{};
        params.flags = a.flags;
        params.cq_entries = config.entries * 4;
        int r = io_uring_queue_init_params(config.entries, _ring.get(), &params);
        if (r == 0) {
            _mode = a.mode;
            ok = true;
            break;
        }
        last_error = -r;
        if (last_error != EINVAL) {
            break; // only "unknown flag" falls back; anything else is the answer
        }
    }
    if (!ok) {
        if (config.mode != uring_mode::automatic && last_error == EINVAL) {
            throw uring_setup_error(EINVAL, std::string("io_uring_setup refused mode ") + to_string(config.mode) +
                                                ": the kernel does not support its flags");
        }
        throw uring_setup_error(last_error, describe_uring_setup_failure(last_error));
    }
    // Saves an fdget/fdput per io_uring_enter; harmless to skip on kernels without it.
    (void)io_uring_register_ring_fd(_ring.get());
    try {
        probe();
    } catch (...) {
        io_uring_queue_exit(_ring.get()); // the destructor does not run for a constructor that throws
        throw;
    }
}

uring::~uring() {
    io_uring_queue_exit(_ring.get());
}

void uring::probe() {
    // io_uring_get_probe_ring() hides why it failed; ask the kernel directly to learn the errno.
    constexpr unsigned probe_ops = 256;
    std::unique_ptr<io_uring_probe, void (*)(void*)> p(
        static_cast<io_uring_probe*>(std::calloc(1, sizeof(io_uring_probe) + probe_ops * sizeof(io_uring_probe_op))),
        &std::free);
    if (!p) {
        throw std::bad_alloc();
    }
    const int r = io_uring_register_probe(_ring.get(), p.get(), probe_ops);
    if (r < 0) {
        const int error = -r;
        if (error == EINVAL) {
            return; // kernel without probing (before 5.6): the required-ops check reports what is missing
        }
        throw uring_setup_error(error, "io_uring_register failed with " + errno_name(error) + " (" +
                                           std::strerror(error) +
                                           "): io_uring can be set up but not configured; a seccomp filter or "
                                           "container policy forbids io_uring_register (allow it along with "
                                           "io_uring_setup and io_uring_enter)");
    }
    for (unsigned op = 0; op <= p->last_op && op < _ops.size(); ++op) {
        if (io_uring_opcode_supported(p.get(), static_cast<int>(op))) {
            _ops.set(op);
        }
    }
}

io_uring_sqe* uring::get_sqe() {
    if (io_uring_sqe* sqe = io_uring_get_sqe(_ring.get())) [[likely]] {
        return sqe;
    }
    return get_sqe_when_full();
}

io_uring_sqe* uring::get_sqe_when_full() {
    // The caller may be anything (a completion handler, a destructor): no handler may run from here. When the
    // kernel wants completions consumed before it takes more submissions, they are moved aside, in order, for
    // the next reap() to dispatch. EAGAIN (the kernel could not allocate a request) is transient: after a few
    // quick retries this thread backs off (1 us doubling to 1 ms) and keeps asking for up to 10 s. Sleeping
    // blocks the shard, but nothing can go on without an SQE; a ring refused for that long is broken.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (unsigned attempt = 0;; ++attempt) {
        int r = 0;
        if (_injected_left > 0) {
            --_injected_left;
            r = -_injected_error;
        } else {
            count_enter();
            r = io_uring_submit(_ring.get());
        }
        if (io_uring_sqe* sqe = io_uring_get_sqe(_ring.get())) {
            return sqe;
        }
        if (r == -EBUSY || r == -EAGAIN) {
            set_aside_completions();
        } else if (r < 0 && r != -EINTR) {
            fatal_submit_error(r);
        }
        if (attempt >= 8) {
            if (std::chrono::steady_clock::now() > give_up) {
                fatal_submit_error(r < 0 ? r : -EAGAIN); // refused (or ignored) for 10 s: the ring is stuck
            }
            const long ns = 1000L << std::min(attempt - 8, 10U);
            timespec pause{0, ns};
            ::nanosleep(&pause, nullptr);
        }
    }
}

void uring::set_aside_completions() {
    io_uring* ring = _ring.get();
    for (;;) {
        const unsigned head = *ring->cq.khead;
        if (head == io_uring_smp_load_acquire(ring->cq.ktail)) {
            break;
        }
        const io_uring_cqe* cqe = &ring->cq.cqes[head & ring->cq.ring_mask];
        _set_aside.push_back({cqe->user_data, cqe->res, cqe->flags});
        io_uring_smp_store_release(ring->cq.khead, head + 1);
    }
}

void uring::fatal_submit_error(int r) {
    std::fprintf(stderr,
                 "percore: io_uring_enter failed with %s (%s) while the submission queue was full; the ring cannot "
                 "take more work, aborting\n",
                 errno_name(-r).c_str(), std::strerror(-r));
    std::abort();
}

void uring::count_enter() noexcept {
    ++_enters;
    _submitted += io_uring_sq_ready(_ring.get());
    if ((IO_URING_READ_ONCE(*_ring->sq.kflags) & IORING_SQ_CQ_OVERFLOW) != 0) {
        ++_cq_overflows;
    }
}

int uring::submit() {
    count_enter();
    return io_uring_submit_and_get_events(_ring.get());
}

int uring::wait(const duration* timeout) {
    if (_set_aside_next < _set_aside.size()) {
        return submit(); // completions are waiting already
    }
    io_uring_cqe* cqe = nullptr;
    count_enter();
    if (timeout == nullptr) {
        return io_uring_submit_and_wait_timeout(_ring.get(), &cqe, 1, nullptr, nullptr);
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
    if (ns < 0) {
        ns = 0;
    }
    __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
    return io_uring_submit_and_wait_timeout(_ring.get(), &cqe, 1, &ts, nullptr);
}

unsigned uring::reap() noexcept {
    unsigned n = 0;
    io_uring* ring = _ring.get();
    // Each CQE is copied and consumed before its handler runs, so a handler that re-enters reap() sees only newer
    // completions, never this one again. Completions set aside by get_sqe() are older than any still in the ring,
    // and a handler may set more aside: they go first, every time. The ring is read directly:
    // io_uring_peek_cqe() would enter the kernel when completions are pending there, a syscall per reap.
    for (;;) {
        std::uint64_t data = 0;
        int res = 0;
        unsigned flags = 0;
        if (_set_aside_next < _set_aside.size()) {
            const set_aside_cqe& c = _set_aside[_set_aside_next++];
            data = c.user_data;
            res = c.res;
            flags = c.flags;
            if (_set_aside_next == _set_aside.size()) {
                _set_aside.clear();
                _set_aside_next = 0;
            }
        } else {
            const unsigned head = *ring->cq.khead;
            if (head == io_uring_smp_load_acquire(ring->cq.ktail)) {
                break;
            }
            const io_uring_cqe* cqe = &ring->cq.cqes[head & ring->cq.ring_mask];
            data = cqe->user_data;
            res = cqe->res;
            flags = cqe->flags;
            io_uring_smp_store_release(ring->cq.khead, head + 1);
        }
        ++n;
        if (auto* c = reinterpret_cast<detail::io_completion*>(static_cast<std::uintptr_t>(data))) {
            c->complete(res, flags);
        }
    }
    _completions += n;
    return n;
}

bool uring::has_unsubmitted() const noexcept {
    return io_uring_sq_ready(_ring.get()) != 0;
}

bool uring::needs_enter() const noexcept {
    return (IO_URING_READ_ONCE(*_ring->sq.kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
}

std::uint64_t uring::cq_dropped() const noexcept {
    return IO_URING_READ_ONCE(*_ring->cq.koverflow);
}

int uring::fd() const noexcept {
    return _ring->ring_fd;
}

const unsigned* uring::cq_tail() const noexcept {
    return _ring->cq.ktail;
}

unsigned uring::cq_head() const noexcept {
    return *_ring->cq.khead; // written only by us (the kernel reads it)
}

unsigned uring::cq_ready() const noexcept {
    return io_uring_cq_ready(_ring.get());
}

void uring::cq_advance(unsigned n) noexcept {
    io_uring_cq_advance(_ring.get(), n);
}

} // namespace percore
