#include "runtime/blocking.hh"

#include <atomic>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/lockfree/queue.hpp>

#include "runtime/detail/helper_thread.hh"

namespace percore {

namespace {

class blocking_pool {
public:
    static blocking_pool& instance() {
        static blocking_pool pool;
        return pool;
    }

    void set_threads(unsigned n) {
        if (n == 0) {
            throw std::invalid_argument("the blocking pool needs at least one thread");
        }
        _configured.store(n, std::memory_order_relaxed);
    }

    void submit(detail::blocking_job* job) {
        std::call_once(_started, [this] { start(); });
        while (!_jobs.push(job)) {
            // Only fails when the node allocator is exhausted; retrying after a yield is all we can do.
            std::this_thread::yield();
        }
        _work.release();
    }

    ~blocking_pool() {
        _stop.store(true, std::memory_order_relaxed);
        _work.release(static_cast<std::ptrdiff_t>(_threads.size()));
        for (auto& t : _threads) {
            t.join();
        }
    }

private:
    blocking_pool() = default;

    void start() {
        const unsigned n = _configured.load(std::memory_order_relaxed);
        for (unsigned i = 0; i < n; ++i) {
            _threads.push_back(detail::start_helper_thread([this] { work(); }));
        }
    }

    void work() {
        for (;;) {
            _work.acquire();
            if (_stop.load(std::memory_order_relaxed)) {
                return;
            }
            detail::blocking_job* job = nullptr;
            if (_jobs.pop(job)) {
                job->execute();
                job->_home->post(job);
            }
        }
    }

    boost::lockfree::queue<detail::blocking_job*> _jobs{64};
    std::counting_semaphore<> _work{0};
    std::vector<std::thread> _threads;
    std::once_flag _started;
    std::atomic<unsigned> _configured{4};
    std::atomic<bool> _stop{false};
};

} // namespace

void set_blocking_threads(unsigned threads) {
    blocking_pool::instance().set_threads(threads);
}

namespace detail {

void blocking_job::complete() noexcept {
    _home->foreign_done();
    wake(_waiter);
}

void submit_blocking(blocking_job* job) {
    job->_home = tl_reactor;
    blocking_pool::instance().submit(job); // may throw (thread start): then nothing is outstanding
    tl_reactor->foreign_expected();
}

} // namespace detail
} // namespace percore
