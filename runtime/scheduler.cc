#include "runtime/scheduler.hh"

#include <algorithm>
#include <stdexcept>

#include "runtime/preempt.hh"

namespace percore {

namespace {

constexpr unsigned max_shares = 1'000'000;
constexpr std::uint64_t share_scale = 1000; // a queue with 1000 shares accrues virtual time at wall-clock rate

void check_shares(unsigned shares) {
    if (shares == 0 || shares > max_shares) {
        throw std::invalid_argument("task queue shares must be in 1..1000000, got " + std::to_string(shares));
    }
}

} // namespace

task_queue::task_queue(scheduler& owner, unsigned id, task_queue_config config)
    : _owner(owner)
    , _id(id)
    , _config(std::move(config)) {
    check_shares(_config.shares);
}

void task_queue::set_shares(unsigned shares) {
    check_shares(shares);
    _config.shares = shares;
}

void task_queue::activate() noexcept {
    _owner.activate(*this);
}

scheduler::scheduler() {
    _queues.push_back(std::make_unique<task_queue>(*this, 0, task_queue_config{}));
}

scheduler::~scheduler() = default;

task_queue& scheduler::create_queue(task_queue_config config) {
    auto id = static_cast<unsigned>(_queues.size());
    _queues.push_back(std::make_unique<task_queue>(*this, id, std::move(config)));
    return *_queues.back();
}

void scheduler::activate(task_queue& q) noexcept {
    // A queue that slept does not bank credit: it restarts level with the least advanced runnable queue (or the
    // most recently charged one when none is runnable), as CFS does with min_vruntime.
    std::uint64_t floor = _vclock;
    if (!_active.empty()) {
        floor = _active.front()->_vruntime;
        for (task_queue* other : _active) {
            floor = std::min(floor, other->_vruntime);
        }
    }
    if (q._vruntime < floor) {
        q._vruntime = floor;
    }
    q._active_index = static_cast<unsigned>(_active.size());
    q._active = true;
    _active.push_back(&q);
    if (q.latency_sensitive() && _running != nullptr && _running != &q) {
        detail::request_preempt();
    }
}

void scheduler::deactivate(task_queue& q) noexcept {
    q._active = false;
    task_queue* last = _active.back();
    _active[q._active_index] = last;
    last->_active_index = q._active_index;
    _active.pop_back();
}

task_queue* scheduler::pick() const noexcept {
    task_queue* best = _active.front();
    for (std::size_t i = 1; i < _active.size(); ++i) {
        task_queue* q = _active[i];
        if (q->_vruntime < best->_vruntime || (q->_vruntime == best->_vruntime && q->latency_sensitive())) {
            best = q;
        }
    }
    return best;
}

bool scheduler::run() {
    if (_active.empty()) {
        return false;
    }
    // Odd while tasks run. Once per pass, not per task: a pass ends within a time slice unless one task holds
    // the shard, so a pass that lasts past the stall threshold means exactly that.
    bump_progress();
    bool ran = false;
    while (!_active.empty()) {
        task_queue* q = pick();
        // With a single queue there is nothing to share, so skip the two clock reads per activation.
        const bool account = _queues.size() > 1;
        const time_point start = account ? clock_type::now() : time_point{};
        _running = q;
        std::uint64_t n = 0;
        do {
            detail::fiber* f = q->pop();
            detail::tl_current_fiber = f;
            f->_resume.resume(); // f may be gone after this
            detail::tl_current_fiber = nullptr;
            ++n;
        } while (!q->empty() && !need_preempt());
        _running = nullptr;
        q->_tasks_run += n;
        _tasks_run += n;
        if (account) {
            auto ns = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count());
            q->_runtime_ns += ns;
            q->_vruntime += ns * share_scale / q->shares();
            _vclock = q->_vruntime;
        }
        if (q->empty()) {
            deactivate(*q);
        }
        ran = true;
        if (need_preempt()) {
            break;
        }
    }
    bump_progress();
    return ran;
}

task_queue& create_task_queue(task_queue_config config) {
    if (detail::tl_scheduler == nullptr) {
        throw std::logic_error("percore::create_task_queue called outside a reactor thread");
    }
    return detail::tl_scheduler->create_queue(std::move(config));
}

task_queue& current_task_queue() {
    if (detail::fiber* f = detail::tl_current_fiber) {
        return *f->_queue;
    }
    if (detail::tl_scheduler == nullptr) {
        throw std::logic_error("percore::current_task_queue called outside a reactor thread");
    }
    return detail::tl_scheduler->default_queue();
}

} // namespace percore

namespace percore {

task_queue* find_task_queue(std::string_view name) {
    if (detail::tl_scheduler == nullptr) {
        throw std::logic_error("percore::find_task_queue called outside a reactor thread");
    }
    for (const auto& q : detail::tl_scheduler->queues()) {
        if (q->name() == name) {
            return q.get();
        }
    }
    return nullptr;
}

} // namespace percore
