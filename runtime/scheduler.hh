/// \file
/// \brief One shard's scheduler: picks task queues by virtual runtime and runs their fibers.
///
/// \code
/// // inside a fiber
/// percore::task_queue& q = percore::create_task_queue({.name = "background", .shares = 200});
/// \endcode
///
/// Invariants
/// - `_active` lists exactly the queues with runnable fibers; `_active_index` in each is its slot.
/// - `run()` returns when no fiber is runnable or `need_preempt()` turned true, so the reactor polls I/O and timers
///   at least once per time slice however busy the tasks are.
/// - `_progress` is odd while a pass runs fibers; the stall detector (another thread) only reads it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "runtime/detail/fiber.hh"
#include "runtime/detail/intrusive_list.hh"
#include "runtime/task_queue.hh"

namespace percore {

class scheduler {
public:
    scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;
    ~scheduler();

    /// \throws std::invalid_argument for shares outside 1..1'000'000.
    task_queue& create_queue(task_queue_config config);
    [[nodiscard]] task_queue& default_queue() noexcept { return *_queues.front(); }
    [[nodiscard]] const std::vector<std::unique_ptr<task_queue>>& queues() const noexcept { return _queues; }

    /// Runs fibers until none is runnable or the time slice is over. \return whether any fiber ran.
    bool run();
    [[nodiscard]] bool has_runnable() const noexcept { return !_active.empty(); }

    /// Fibers that have not finished yet (spawned and not done), for shutdown. A fiber unlinks itself when it
    /// finishes (fiber_finished).
    detail::intrusive_list<detail::fiber, detail::registry_tag>& live_fibers() noexcept { return _live; }
    [[nodiscard]] bool has_live_fibers() const noexcept { return !_live.empty(); }
    /// Counts them (walks the list: for diagnostics).
    [[nodiscard]] std::size_t live_fiber_count() noexcept {
        std::size_t n = 0;
        _live.for_each([&](detail::fiber&) { ++n; });
        return n;
    }
    void register_fiber(detail::fiber& f) noexcept { _live.push_back(f); }

    /// Incremented at the start and end of each run() that resumes fibers (odd meanwhile). Read by the stall
    /// detector.
    [[nodiscard]] const std::atomic<std::uint64_t>& progress() const noexcept { return _progress; }
    [[nodiscard]] std::uint64_t tasks_run() const noexcept { return _tasks_run; }

private:
    friend class task_queue;
    void activate(task_queue& q) noexcept;
    void deactivate(task_queue& q) noexcept;
    task_queue* pick() const noexcept;

    void bump_progress() noexcept {
        _progress.store(_progress.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    std::vector<std::unique_ptr<task_queue>> _queues;
    std::vector<task_queue*> _active;
    task_queue* _running = nullptr;
    std::uint64_t _vclock = 0; // virtual runtime of the most recently charged queue
    std::uint64_t _tasks_run = 0;
    detail::intrusive_list<detail::fiber, detail::registry_tag> _live;
    alignas(64) std::atomic<std::uint64_t> _progress{0};
};

namespace detail {
inline constinit thread_local scheduler* tl_scheduler = nullptr;
}

/// Creates a task queue on the current shard; it lives as long as the shard. \shard_local
task_queue& create_task_queue(task_queue_config config);

/// The queue of the running fiber (or the shard's default queue outside fibers). \shard_local
task_queue& current_task_queue();

/// The queue of this shard named `name` (queues from the engine config are created on every shard), or null.
/// \shard_local
task_queue* find_task_queue(std::string_view name);

} // namespace percore
