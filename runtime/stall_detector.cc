#include "runtime/stall_detector.hh"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <execinfo.h>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <signal.h>
#include <thread>

#include "runtime/detail/helper_thread.hh"
#include "runtime/log.hh"

namespace percore {

namespace {

logger stall_log("stall");

int stall_signal() {
    return SIGRTMIN + 4;
}

constinit thread_local detail::stall_watch* tl_watch = nullptr;

void on_stall_signal(int) {
    detail::stall_watch* w = tl_watch;
    if (w == nullptr) {
        return;
    }
    int expected = detail::stall_watch::requested;
    if (!w->_capture.compare_exchange_strong(expected, detail::stall_watch::writing, std::memory_order_acquire)) {
        return; // the watchdog gave up on this request
    }
    const int saved_errno = errno;
    // backtrace() is not formally async-signal-safe; it is warmed up at registration so it does not load libgcc
    // (which would allocate) here, the same compromise other stall detectors make.
    w->_frame_count = ::backtrace(w->_frames, detail::stall_watch::max_frames);
    w->_capture.store(detail::stall_watch::ready, std::memory_order_release);
    errno = saved_errno;
}

class watchdog {
public:
    static watchdog& instance() {
        static watchdog w;
        return w;
    }

    void add(detail::stall_watch* w) {
        std::unique_lock lock(_mutex);
        _watches.push_back(w);
        if (!_thread.joinable()) {
            // Each thread gets its own stop flag: a thread being stopped by remove() must not be revived by an
            // add() that slips in before it wakes up (that add starts a fresh thread instead).
            auto stop = std::make_shared<bool>(false);
            _stop = stop;
            _thread = detail::start_helper_thread([this, stop] { loop(*stop); });
        }
        _cv.notify_all();
    }

    void remove(detail::stall_watch* w) {
        std::thread to_join;
        {
            std::unique_lock lock(_mutex);
            std::erase(_watches, w);
            if (_watches.empty() && _thread.joinable()) {
                *_stop = true;
                _cv.notify_all();
                to_join = std::move(_thread);
            }
        }
        if (to_join.joinable()) {
            to_join.join();
        }
    }

    void set_handler(std::function<void(const stall_report&)> handler) {
        std::unique_lock lock(_mutex);
        _handler = std::move(handler);
    }

private:
    watchdog() = default;

    void loop(const bool& stop) {
        std::unique_lock lock(_mutex);
        while (!stop) {
            duration period = std::chrono::milliseconds(100);
            for (auto* w : _watches) {
                period =
                    std::min<duration>(period, std::max<duration>(w->_threshold / 4, std::chrono::milliseconds(1)));
            }
            _cv.wait_for(lock, period);
            if (stop) {
                break;
            }
            // Reports are built under the lock (so no watch can be unregistered and freed meanwhile) and handed
            // out after it is released (so a slow handler does not hold up registration).
            std::vector<stall_report> reports;
            const time_point now = clock_type::now();
            for (auto* w : _watches) {
                if (auto r = check(*w, now)) {
                    reports.push_back(std::move(*r));
                }
            }
            if (reports.empty()) {
                continue;
            }
            auto handler = _handler;
            lock.unlock();
            for (const auto& r : reports) {
                if (handler) {
                    handler(r);
                } else {
                    log_report(r);
                }
            }
            lock.lock();
        }
    }

    std::optional<stall_report> check(detail::stall_watch& w, time_point now) {
        const std::uint64_t p = w._progress.load(std::memory_order_relaxed);
        if (p != w._last_seen) {
            w._last_seen = p;
            w._since = now;
            w._reports = 0;
            return std::nullopt;
        }
        if ((p & 1) == 0) {
            return std::nullopt; // between passes (idle or polling): nothing holds the shard
        }
        const duration blocked = now - w._since;
        if (blocked < w._threshold * (1u << std::min(w._reports, 20u))) {
            return std::nullopt;
        }
        ++w._reports;
        w._reports_total.fetch_add(1, std::memory_order_relaxed);
        return stall_report{w._shard, blocked, capture(w)};
    }

    // Holds the watchdog's mutex throughout, so the watch cannot be unregistered while we wait for its handler
    // (a thread blocked on that mutex in remove() still runs its signal handler).
    static std::vector<std::string> capture(detail::stall_watch& w) {
        w._capture.store(detail::stall_watch::requested, std::memory_order_release);
        if (pthread_kill(static_cast<pthread_t>(w._thread), stall_signal()) != 0) {
            w._capture.store(detail::stall_watch::idle, std::memory_order_relaxed);
            return {};
        }
        bool got = false;
        for (int i = 0; i < 200 && !got; ++i) {
            got = w._capture.load(std::memory_order_acquire) == detail::stall_watch::ready;
            if (!got) {
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
        }
        if (!got) {
            int expected = detail::stall_watch::requested;
            if (!w._capture.compare_exchange_strong(expected, detail::stall_watch::idle, std::memory_order_acquire)) {
                // The handler started just now: it finishes in microseconds.
                while (w._capture.load(std::memory_order_acquire) != detail::stall_watch::ready) {
                    std::this_thread::yield();
                }
                got = true;
            }
        }
        std::vector<std::string> frames;
        if (got && w._frame_count > 0) {
            const int n = w._frame_count;
            char** symbols = ::backtrace_symbols(w._frames, n);
            // Frame 0 is the handler and frame 1 the kernel's signal trampoline: the stalled code starts after them.
            for (int i = n > 2 ? 2 : 0; i < n; ++i) {
                frames.emplace_back(symbols != nullptr ? symbols[i] : "?");
            }
            std::free(symbols);
        }
        if (got) {
            w._capture.store(detail::stall_watch::idle, std::memory_order_release);
        }
        return frames;
    }

    static void log_report(const stall_report& r) {
        std::string text;
        for (std::size_t i = 0; i < r.backtrace.size(); ++i) {
            text += fmt::format("\n  #{} {}", i, r.backtrace[i]);
        }
        stall_log.warn("shard {}: the reactor has run tasks for {} ms without a break (a task is not yielding){}",
                       r.shard, std::chrono::duration_cast<std::chrono::milliseconds>(r.blocked_for).count(),
                       text.empty() ? std::string(" (no backtrace)") : "; backtrace:" + text);
    }

    std::mutex _mutex;
    std::condition_variable _cv;
    std::vector<detail::stall_watch*> _watches;
    std::function<void(const stall_report&)> _handler;
    std::thread _thread;
    std::shared_ptr<bool> _stop; // the running thread's flag, guarded by _mutex
};

void install_signal_handler() {
    static const bool installed = [] {
        struct sigaction sa {};
        sa.sa_handler = on_stall_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(stall_signal(), &sa, nullptr);
        void* warm[4];
        (void)::backtrace(warm, 4); // loads the unwinder now, not inside the handler
        return true;
    }();
    (void)installed;
}

} // namespace

void set_stall_report_handler(std::function<void(const stall_report&)> handler) {
    watchdog::instance().set_handler(std::move(handler));
}

namespace detail {

stall_watch::stall_watch(const std::atomic<std::uint64_t>& progress, duration threshold, unsigned shard)
    : _progress(progress)
    , _threshold(threshold)
    , _shard(shard)
    , _thread(pthread_self()) {
    install_signal_handler();
    tl_watch = this;
    watchdog::instance().add(this);
}

stall_watch::~stall_watch() {
    watchdog::instance().remove(this);
    tl_watch = nullptr;
}

} // namespace detail
} // namespace percore
