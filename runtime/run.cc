#include "runtime/run.hh"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <signal.h>
#include <stdexcept>
#include <sys/signalfd.h>
#include <system_error>
#include <unistd.h>

#include <liburing.h>

#include "runtime/defer.hh"
#include "runtime/log.hh"

namespace percore {

namespace {

logger run_log("run");

/// Reads the signalfd through the reactor's ring and dispatches each signal.
class signal_watch final : public detail::io_completion {
public:
    signal_watch(reactor& r, int fd)
        : _r(r)
        , _fd(fd) {
        arm();
    }

    void complete(int res, unsigned) noexcept override {
        if (res == -ECANCELED) {
            return;
        }
        if (res == static_cast<int>(sizeof(_info))) {
            dispatch(static_cast<int>(_info.ssi_signo));
        }
        arm();
    }

    void set_handler(int signo, std::function<void()> handler) { _handlers[signo] = std::move(handler); }
    [[nodiscard]] int stop_signal() const noexcept { return _stop_signal; }

private:
    void arm() {
        io_uring_sqe* sqe = _r.ring().get_sqe();
        io_uring_prep_read(sqe, _fd, &_info, sizeof(_info), 0);
        io_uring_sqe_set_data(sqe, static_cast<detail::io_completion*>(this));
    }

    void dispatch(int signo) noexcept {
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
        _r.stop();
    }

    reactor& _r;
    int _fd;
    signalfd_siginfo _info{};
    std::map<int, std::function<void()>> _handlers;
    int _stop_signal = 0;
};

constinit thread_local signal_watch* tl_signals = nullptr;

} // namespace

void handle_signal(int signo, std::function<void()> handler) {
    if (signo != SIGINT && signo != SIGTERM) {
        throw std::invalid_argument("percore::handle_signal supports SIGINT and SIGTERM");
    }
    if (tl_signals == nullptr) {
        throw std::logic_error("percore::handle_signal called outside percore::run");
    }
    tl_signals->set_handler(signo, std::move(handler));
}

int run(const reactor_config& config, std::function<task<int>()> main) {
    sigset_t stop_signals;
    sigset_t previous;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
    auto restore_mask = defer([&] { pthread_sigmask(SIG_SETMASK, &previous, nullptr); });

    int sfd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        std::fprintf(stderr, "percore: cannot start: signalfd: %s\n", std::strerror(errno));
        return 1;
    }
    auto close_sfd = defer([&] { ::close(sfd); });

    std::optional<reactor> r;
    try {
        r.emplace(config);
    } catch (const uring_setup_error& e) {
        std::fprintf(stderr, "percore: cannot start: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "percore: cannot start: %s\n", e.what());
        return 1;
    }
    signal_watch signals(*r, sfd);
    tl_signals = &signals;
    auto clear_signals = defer([] { tl_signals = nullptr; });
    int code = 1;
    try {
        code = r->run(detail::call_owned(std::move(main)));
    } catch (const aborted&) {
        if (signals.stop_signal() == 0) {
            run_log.error("main task was aborted");
        }
    } catch (const std::exception& e) {
        run_log.error("main task failed: {}", e.what());
    } catch (...) {
        run_log.error("main task failed with an exception of unknown type");
    }
    if (signals.stop_signal() != 0) {
        code = 128 + signals.stop_signal();
    }
    // The reactor (and its ring, which still holds the signalfd read) goes before `signals`.
    r.reset();
    return code;
}

int run(std::function<task<int>()> main) {
    return run(reactor_config{}, std::move(main));
}

} // namespace percore
