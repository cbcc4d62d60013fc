/// \file
/// \brief Task queues: FIFO run lists that share the shard's CPU by weight.
///
/// Every fiber belongs to one task queue (the queue of the fiber that spawned it, or the shard's default queue).
/// The scheduler runs the queue with the lowest virtual runtime; a queue's virtual runtime grows by the CPU time
/// it used divided by its shares, so over a busy period queues get CPU in proportion to their shares.
/// A latency-sensitive queue that becomes runnable asks the running queue to yield at its next preemption check.
///
/// \code
/// percore::task_queue& bg = percore::create_task_queue({.name = "compaction", .shares = 100});
/// auto h = percore::spawn(bg, compact());   // gets ~1/11 of the CPU against a default queue (1000 shares)
/// \endcode
///
/// Invariants
/// - The run list holds runnable fibers, each once, linked through `_next_runnable`.
/// - A queue is in the scheduler's active set (`_active`) when its run list is non-empty, and possibly while it
///   is being run with an empty list; the scheduler removes it once a run leaves it empty.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/clock.hh"
#include "runtime/detail/fiber.hh"

namespace percore {

class scheduler;

struct task_queue_config {
    std::string name = "default";
    /// Relative CPU weight, 1..1'000'000; the default queue has 1000.
    unsigned shares = 1000;
    /// Preempt other queues as soon as this one has work (at their next need_preempt() check).
    bool latency_sensitive = false;
};

class task_queue {
public:
    task_queue(scheduler& owner, unsigned id, task_queue_config config);
    task_queue(const task_queue&) = delete;
    task_queue& operator=(const task_queue&) = delete;

    [[nodiscard]] const std::string& name() const noexcept { return _config.name; }
    [[nodiscard]] unsigned id() const noexcept { return _id; }
    [[nodiscard]] unsigned shares() const noexcept { return _config.shares; }
    /// \throws std::invalid_argument outside 1..1'000'000.
    void set_shares(unsigned shares);
    [[nodiscard]] bool latency_sensitive() const noexcept { return _config.latency_sensitive; }
    /// CPU time charged to this queue (measured only while the shard has more than one queue).
    [[nodiscard]] duration runtime() const noexcept { return std::chrono::nanoseconds(_runtime_ns); }
    /// Number of times a fiber of this queue was resumed.
    [[nodiscard]] std::uint64_t tasks_run() const noexcept { return _tasks_run; }
    /// Runnable fibers waiting in this queue. Walks the run list: for metrics, not hot paths.
    [[nodiscard]] std::size_t length() const noexcept {
        std::size_t n = 0;
        for (const detail::fiber* f = _head; f != nullptr; f = f->_next_runnable) {
            ++n;
        }
        return n;
    }

    /// Appends a runnable fiber. \shard_local
    void push(detail::fiber* f) noexcept {
        f->_next_runnable = nullptr;
        if (_tail != nullptr) {
            _tail->_next_runnable = f;
            _tail = f;
        } else {
            _head = _tail = f;
            if (!_active) { // the queue being run may empty and refill while it stays active
                activate();
            }
        }
    }

private:
    friend class scheduler;

    [[nodiscard]] bool empty() const noexcept { return _head == nullptr; }
    detail::fiber* pop() noexcept {
        detail::fiber* f = _head;
        _head = f->_next_runnable;
        if (_head == nullptr) {
            _tail = nullptr;
        }
        return f;
    }
    void activate() noexcept;

    scheduler& _owner;
    detail::fiber* _head = nullptr;
    detail::fiber* _tail = nullptr;
    std::uint64_t _vruntime = 0;
    std::uint64_t _runtime_ns = 0;
    std::uint64_t _tasks_run = 0;
    unsigned _active_index = 0;
    bool _active = false;
    unsigned _id;
    task_queue_config _config;
};

namespace detail {

/// Makes a parked fiber runnable again; the single wake-up its parker owns.
inline void wake(fiber* f) noexcept {
    f->_cancel = {};
    f->_queue->push(f);
}

} // namespace detail

} // namespace percore
