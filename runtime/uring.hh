/// \file
/// \brief RAII io_uring: setup with fallbacks and a clear diagnosis, SQE access, submission, completion reaping.
///
/// Policy-free: the reactor decides when to submit and wait. Only this file's .cc and the .cc files that prepare
/// SQEs include liburing.
///
/// \code
/// percore::uring ring({.entries = 256});          // throws uring_setup_error naming the cause
/// io_uring_sqe* sqe = ring.get_sqe();
/// io_uring_prep_nop(sqe);
/// io_uring_sqe_set_data(sqe, &my_completion);
/// ring.submit();
/// ring.reap();                                    // calls my_completion.complete(res, flags)
/// \endcode
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/clock.hh"

struct io_uring;
struct io_uring_sqe;

namespace percore {

/// Which setup flags the ring runs with. `automatic` tries them from the fastest down.
enum class uring_mode {
    automatic,
    defer_taskrun, ///< SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG (Linux 6.1+): completions run only when we ask
    coop_taskrun,  ///< COOP_TASKRUN | TASKRUN_FLAG (5.19+): no IPI to post completions
    plain,         ///< no optional flags
};

[[nodiscard]] const char* to_string(uring_mode mode) noexcept;

struct uring_config {
    unsigned entries = 256;
    uring_mode mode = uring_mode::automatic;
};

/// io_uring could not be set up; `what()` names the cause and the remedy.
class uring_setup_error : public std::runtime_error {
public:
    uring_setup_error(int error, const std::string& message)
        : std::runtime_error(message)
        , _error(error) {}
    /// The errno io_uring_setup (or the opcode probe) failed with.
    [[nodiscard]] int error() const noexcept { return _error; }

private:
    int _error;
};

/// Explains an io_uring_setup failure: sysctl, seccomp, memlock limit or kernel version. Exposed for tests.
[[nodiscard]] std::string describe_uring_setup_failure(int error);

class uring {
public:
    /// \throws uring_setup_error if the kernel refuses every mode allowed by `config.mode`.
    explicit uring(const uring_config& config);
    uring(const uring&) = delete;
    uring& operator=(const uring&) = delete;
    ~uring();

    /// A free SQE; submits what is queued when the submission queue is full. Never null, and never runs a
    /// completion handler: completions the kernel wants consumed first wait for the next reap(). Aborts the
    /// process if the kernel refuses submissions for good (the shard could not go on).
    io_uring_sqe* get_sqe();

    /// Submits prepared SQEs and posts completions that are ready, without waiting. \return SQEs submitted or -errno.
    int submit();

    /// Submits, then sleeps until at least one completion (at once if get_sqe() set some aside) or the timeout
    /// (null: no timeout). \return >= 0 or -errno
    /// (-ETIME on timeout, -EINTR on a signal).
    int wait(const duration* timeout);

    /// Dispatches every completion available to its io_completion. \return number of CQEs seen.
    unsigned reap() noexcept;

    /// SQEs prepared and not yet handed to the kernel.
    [[nodiscard]] bool has_unsubmitted() const noexcept;
    /// The kernel holds completions we only see after entering it (deferred task work, CQ overflow).
    [[nodiscard]] bool needs_enter() const noexcept;

    [[nodiscard]] uring_mode mode() const noexcept { return _mode; }
    [[nodiscard]] bool supports(unsigned opcode) const noexcept { return opcode < _ops.size() && _ops.test(opcode); }
    [[nodiscard]] int fd() const noexcept;
    [[nodiscard]] io_uring* native() noexcept { return _ring.get(); }

    /// The kernel-written completion tail (shared memory): the preemption timer compares it without a syscall.
    [[nodiscard]] const unsigned* cq_tail() const noexcept;
    [[nodiscard]] unsigned cq_head() const noexcept;
    [[nodiscard]] unsigned cq_ready() const noexcept;
    void cq_advance(unsigned n) noexcept;

    /// Test hook: the next `n` submissions that get_sqe() makes because the submission queue is full are refused
    /// with `error` (as a kernel answers EBUSY when its completion queue overflowed), so that path runs on
    /// kernels that never refuse.
    void inject_full_queue_errors(int error, unsigned n) noexcept {
        _injected_error = error;
        _injected_left = n;
    }

    /// Calls into the kernel (io_uring_enter) made through this object.
    [[nodiscard]] std::uint64_t enters() const noexcept { return _enters; }
    [[nodiscard]] std::uint64_t completions() const noexcept { return _completions; }
    /// SQEs handed to the kernel (prepared SQEs pending at each io_uring_enter).
    [[nodiscard]] std::uint64_t submitted() const noexcept { return _submitted; }
    /// Submissions that found the kernel holding completions the completion queue had no room for (it keeps them
    /// in an overflow list, at a cost, until they are reaped): a sign the queue is too small for the load.
    [[nodiscard]] std::uint64_t cq_overflows() const noexcept { return _cq_overflows; }
    /// Completions the kernel dropped for good (it could not even keep them in its overflow list).
    [[nodiscard]] std::uint64_t cq_dropped() const noexcept;

private:
    struct set_aside_cqe {
        std::uint64_t user_data;
        int res;
        unsigned flags;
    };
    void probe();
    io_uring_sqe* get_sqe_when_full();
    void set_aside_completions();
    void count_enter() noexcept;
    [[noreturn]] static void fatal_submit_error(int r);

    std::unique_ptr<io_uring> _ring;
    uring_mode _mode = uring_mode::plain;
    std::bitset<256> _ops;
    std::uint64_t _enters = 0;
    std::uint64_t _completions = 0;
    std::uint64_t _submitted = 0;
    std::uint64_t _cq_overflows = 0;
    std::vector<set_aside_cqe> _set_aside; // consumed from the ring by get_sqe(), not yet dispatched
    std::size_t _set_aside_next = 0;
    int _injected_error = 0;
    unsigned _injected_left = 0;
};

} // namespace percore
