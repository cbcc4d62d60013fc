#include <cerrno>
#include <memory>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>
#include <liburing.h>

#include "runtime/detail/io_completion.hh"
#include "runtime/uring.hh"
#include "tests/support/child_process.hh"

using namespace percore;

namespace {

struct completion_log {
    bool inside_get_sqe = false;
    std::vector<int> order;
    int during_get_sqe = 0;
};

/// One operation: records its id when it completes, and whether that happened inside get_sqe().
struct numbered_op final : detail::io_completion {
    completion_log* log = nullptr;
    int id = 0;
    void complete(int, unsigned) noexcept override {
        log->order.push_back(id);
        log->during_get_sqe += log->inside_get_sqe ? 1 : 0;
    }
};

std::unique_ptr<uring> try_ring(uring_mode mode) {
    try {
        return std::make_unique<uring>(uring_config{.entries = 4, .mode = mode});
    } catch (const uring_setup_error&) {
        MESSAGE("mode " << to_string(mode) << " not supported here");
        return nullptr;
    }
}

/// Prepares `ops.size()` NOPs through get_sqe() (which submits on its own whenever the 4-entry queue is full) and
/// reaps nothing meanwhile, then reaps until every one completed. From the 100th on, the kernel refuses the
/// next `refusals` full-queue submissions with `error`.
void run_nops(uring& ring, std::vector<numbered_op>& ops, completion_log& log, int error, unsigned refusals) {
    for (numbered_op& op : ops) {
        if (op.id == 100) {
            ring.inject_full_queue_errors(error, refusals);
        }
        log.inside_get_sqe = true;
        io_uring_sqe* sqe = ring.get_sqe();
        log.inside_get_sqe = false;
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, &op);
    }
    for (int spins = 0; log.order.size() < ops.size() && spins < 10'000; ++spins) {
        const duration slice = std::chrono::milliseconds(1);
        (void)ring.wait(&slice);
        ring.reap();
    }
}

} // namespace

TEST_SUITE("runtime/uring") {
    // Issue 10, item 6: on a full submission queue get_sqe() submitted, and when the kernel answered EBUSY or
    // EAGAIN (completions must be consumed first) it reaped: completion handlers then ran inside whoever asked
    // for an SQE, and a handler that freed that caller's object left it touching freed memory.
    TEST_CASE("get_sqe on a full queue never runs completion handlers, and every completion keeps its order") {
        for (uring_mode mode : {uring_mode::plain, uring_mode::coop_taskrun, uring_mode::defer_taskrun}) {
            for (int error : {EBUSY, EAGAIN, EINTR}) {
                CAPTURE(to_string(mode));
                CAPTURE(error);
                auto ring = try_ring(mode);
                if (!ring) {
                    continue;
                }
                completion_log log;
                // Far more operations than the completion queue (16 entries) holds.
                std::vector<numbered_op> ops(300);
                for (int i = 0; i < 300; ++i) {
                    ops[i].log = &log;
                    ops[i].id = i;
                }
                // Modern kernels buffer an overflow instead of refusing: make the refusal happen anyway.
                run_nops(*ring, ops, log, error, 20);
                CHECK(log.during_get_sqe == 0);
                std::vector<int> expected(ops.size());
                std::iota(expected.begin(), expected.end(), 0);
                CHECK(log.order == expected);
            }
        }
    }

    TEST_CASE("completions that overflow the completion queue are counted, and none is lost") {
        uring ring({.entries = 4});
        completion_log log;
        std::vector<numbered_op> ops(300); // the completion queue holds 16
        for (int i = 0; i < 300; ++i) {
            ops[i].log = &log;
            ops[i].id = i;
        }
        run_nops(ring, ops, log, 0, 0);
        CHECK(log.order.size() == ops.size());
        CHECK(ring.cq_overflows() > 0);
        CHECK(ring.cq_dropped() == 0);
    }

    // Review of issue 10 (R1): EAGAIN (no memory for a request) is transient; 100 000 back-to-back retries in a
    // tenth of a second, then an abort, took the process down under a passing pressure. Now it backs off and
    // gives up only after 10 s.
    TEST_CASE("a full queue refused with EAGAIN many times over is retried, not fatal") {
        uring ring({.entries = 4});
        completion_log log;
        std::vector<numbered_op> ops(8);
        for (int i = 0; i < 8; ++i) {
            ops[i].log = &log;
            ops[i].id = i;
        }
        ring.inject_full_queue_errors(EAGAIN, 2'000);
        run_nops(ring, ops, log, EAGAIN, 0); // the 5th get_sqe meets 2 000 refusals (backing off: about 2 s)
        CHECK(log.order.size() == ops.size());
    }

    TEST_CASE("a submission error that consuming completions cannot cure stops the process with its name") {
        auto st = test::run_in_child([] {
            uring ring({.entries = 4});
            ring.inject_full_queue_errors(EBADF, 1);
            for (int i = 0; i < 8; ++i) {
                io_uring_prep_nop(ring.get_sqe()); // the 5th finds the queue full
            }
            return 0;
        });
        CHECK_FALSE(st.exited);
        CHECK(st.signal == SIGABRT);
        CHECK(st.err.find("io_uring_enter failed with EBADF") != std::string::npos);
    }
}
