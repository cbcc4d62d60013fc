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

void fiber_finished(fiber* f) noexcept {
    f->_done = true;
    tl_scheduler->unregister_fiber(*f);
    if (finish_listener* l = std::exchange(f->_listener, nullptr)) {
        l->on_finished(*f);
    }
    fiber_release(f);
}

void fiber_release(fiber* f) noexcept {
    if (--f->_refs == 0) {
        f->_destroy(f);
    }
}

void fiber_abort(fiber* f) noexcept {
    if (f->_done || f->_abort_requested) {
        return;
    }
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

task_queue& default_spawn_queue() {
    if (fiber* f = tl_current_fiber) {
        return *f->_queue;
    }
    if (tl_scheduler == nullptr) {
        throw std::logic_error("percore::spawn called outside a reactor thread");
    }
    return tl_scheduler->default_queue();
}

} // namespace percore::detail
