#include "runtime/spawn.hh"

#include <stdexcept>

#include "runtime/log.hh"

namespace percore::detail {

namespace {
logger task_log("task");
} // namespace

void throw_aborted() {
    throw aborted();
}

void fiber_abort(fiber* f) noexcept {
    if (f->_done) {
        return;
    }
    // Not skipped when already requested: an abort that landed while the fiber was setting up a wait (before
    // its cancel hook existed) is delivered by the next call. The hook is taken, so it runs at most once.
    f->_abort_requested = true;
    if (f->_shield == 0 && f->_cancel.fn != nullptr) {
        cancel_hook hook = std::exchange(f->_cancel, {});
        hook.fn(hook.arg);
    }
}

void report_unobserved_exception(std::exception_ptr e) noexcept {
    try {
        std::rethrow_exception(std::move(e));
    } catch (const aborted&) {
        // An aborted task that nobody joined unwound as asked: not worth a line.
    } catch (const std::exception& ex) {
        task_log.warn("exception in a task nobody joined: {}", ex.what());
    } catch (...) {
        task_log.warn("exception of unknown type in a task nobody joined");
    }
}

void throw_spawn_outside_reactor() {
    throw std::logic_error("percore::spawn called outside a reactor thread");
}

} // namespace percore::detail
