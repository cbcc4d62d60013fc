#include "runtime/run.hh"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <signal.h>
#include <stdexcept>
#include <sys/signalfd.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "runtime/detail/main_runner.hh"
#include "runtime/log.hh"
#include "runtime/spawn.hh"

namespace percore {

namespace {

logger run_log("run");

constinit thread_local detail::signal_watch* tl_signals = nullptr;

struct shutdown_hook {
    std::uint64_t id;
    std::function<task<>()> fn;
};

struct shutdown_hooks {
    std::vector<shutdown_hook> hooks;
    std::uint64_t next_id = 1;
};

shutdown_hooks& local_hooks() {
    static thread_local shutdown_hooks hooks;
    return hooks;
}

sigset_t stop_signal_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

} // namespace

void handle_signal(int signo, std::function<void()> handler) {
    if (signo != SIGINT && signo != SIGTERM) {
        throw std::invalid_argument("percore::handle_signal supports SIGINT and SIGTERM");
    }
    if (tl_signals == nullptr) {
        throw std::logic_error("percore::handle_signal called outside percore::run (or off the first shard)");
    }
    tl_signals->set_handler(signo, std::move(handler));
}

std::uint64_t add_shutdown_hook(std::function<task<>()> hook) {
    auto& h = local_hooks();
    const std::uint64_t id = h.next_id++;
    h.hooks.push_back({id, std::move(hook)});
    return id;
}

void remove_shutdown_hook(std::uint64_t id) noexcept {
    std::erase_if(local_hooks().hooks, [id](const shutdown_hook& h) { return h.id == id; });
}

namespace detail {

stop_signal_block::stop_signal_block() {
    sigset_t set = stop_signal_set();
    pthread_sigmask(SIG_BLOCK, &set, &_previous);
    _fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (_fd < 0) {
        const int e = errno;
        pthread_sigmask(SIG_SETMASK, &_previous, nullptr);
        throw std::system_error(e, std::system_category(), "signalfd");
    }
}

stop_signal_block::~stop_signal_block() {
    ::close(_fd);
    pthread_sigmask(SIG_SETMASK, &_previous, nullptr);
}

signal_watch::signal_watch(reactor& r, int fd)
    : rearming_read(r.ring(), &_info, sizeof(_info), "the stop-signal signalfd")
    , _r(r) {
    tl_signals = this;
    start(fd);
}

signal_watch::~signal_watch() {
    tl_signals = nullptr;
}

void signal_watch::on_read(int bytes) noexcept {
    if (bytes == static_cast<int>(sizeof(_info))) {
        dispatch(static_cast<int>(_info.ssi_signo));
    }
}

void signal_watch::set_handler(int signo, std::function<void()> handler) {
    _handlers[signo] = std::move(handler);
}

void signal_watch::dispatch(int signo) noexcept {
    if (auto it = _handlers.find(signo); it != _handlers.end() && it->second) {
        try {
            it->second();
        } catch (const std::exception& e) {
            run_log.error("handler for signal {} threw: {}", signo, e.what());
        }
        return;
    }
    if (_stop_signal != 0) {
        run_log.warn("second signal ({}) while stopping: exiting now", strsignal(signo));
        std::_Exit(128 + signo);
    }
    run_log.info("{}: stopping", strsignal(signo));
    _stop_signal = signo;
    if (_default) {
        _default();
    } else {
        _r.stop();
    }
}

task<> run_shutdown_hooks() {
    auto& h = local_hooks();
    while (!h.hooks.empty()) {
        shutdown_hook hook = std::move(h.hooks.back());
        h.hooks.pop_back();
        try {
            co_await hook.fn();
        } catch (const std::exception& e) {
            run_log.error("shutdown hook failed: {}", e.what());
        } catch (...) {
            run_log.error("shutdown hook failed with an exception of unknown type");
        }
    }
}

task<int> run_main(std::function<task<int>()> main, signal_watch& signals) {
    auto m = spawn(detail::call_owned(std::move(main)));
    signals.set_default_action([&m] { m.abort(); });
    int code = 1;
    try {
        code = co_await m;
    } catch (const aborted&) {
        if (signals.stop_signal() == 0) {
            run_log.error("main task was aborted");
        }
    } catch (const std::exception& e) {
        run_log.error("main task failed: {}", e.what());
    } catch (...) {
        run_log.error("main task failed with an exception of unknown type");
    }
    signals.set_default_action({}); // from now on a stop signal stops the reactor itself
    if (signals.stop_signal() != 0) {
        code = 128 + signals.stop_signal();
    }
    co_await run_shutdown_hooks();
    co_return code;
}

int run_with_stop_signals(reactor& r, int signal_fd, const std::function<task<int>(signal_watch&)>& body) {
    signal_watch signals(r, signal_fd);
    try {
        return r.run(body(signals));
    } catch (const std::exception& e) {
        run_log.error("{}", e.what()); // a stop signal ended the reactor before the main task finished
        return signals.stop_signal() != 0 ? 128 + signals.stop_signal() : 1;
    }
}

} // namespace detail

int run(const reactor_config& config, std::function<task<int>()> main) {
    std::optional<detail::stop_signal_block> block;
    std::optional<reactor> r;
    try {
        block.emplace();
        r.emplace(config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "percore: cannot start: %s\n", e.what());
        return 1;
    }
    return detail::run_with_stop_signals(
        *r, block->fd(), [&main](detail::signal_watch& signals) { return detail::run_main(std::move(main), signals); });
}

int run(std::function<task<int>()> main) {
    return run(reactor_config{}, std::move(main));
}

} // namespace percore
