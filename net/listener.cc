#include "net/listener.hh"

#include <cerrno>
#include <coroutine>
#include <deque>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

#include <liburing.h>

#include "net/detail/net_context.hh"
#include "net/detail/socket_ops.hh"
#include "runtime/task_queue.hh"

namespace percore::net {

namespace detail {

/// Invariants: one multishot accept at most in flight (`_armed`); accepted fds wait in `_ready` in arrival
/// order; after the handle lets go (`_closed`) the last completion closes the socket and deletes this.
class listener_state final : public net_object, public percore::detail::io_completion {
public:
    listener_state(int fd, const listen_options& options, net_context& ctx) noexcept
        : _fd(fd)
        , _options(options)
        , _ctx(ctx) {
        ctx.track(*this);
    }

    struct accept_awaiter {
        listener_state& s;
        bool await_ready() const noexcept { return s.ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            if (percore::detail::abort_pending()) {
                return false;
            }
            s.arm();
            if (s.ready()) {
                return false;
            }
            s._waiter = percore::detail::park_current(h, {&cancel_waiter, &s});
            s._parked = true;
            return true;
        }
        int await_resume() {
            if (std::exchange(s._parked, false) && s._closed) {
                s.release_if_done(); // close() waited for this waiter to leave
                throw std::system_error(ECANCELED, std::system_category(), "accept on a closed listener");
            }
            percore::detail::throw_if_aborted();
            return s.take();
        }
    };

    [[nodiscard]] bool ready() const noexcept { return !_ready.empty() || _error != 0 || _closed; }

    /// An accepted fd. \throws std::system_error for an accept error (once) or a closed listener.
    int take() {
        if (!_ready.empty()) {
            int fd = _ready.front();
            _ready.pop_front();
            ++_accepted;
            return fd;
        }
        if (_closed) {
            throw std::system_error(ECANCELED, std::system_category(), "accept on a closed listener");
        }
        int e = std::exchange(_error, 0);
        throw std::system_error(e, std::system_category(), "accept");
    }

    void arm() noexcept {
        if (_armed || _closed) {
            return;
        }
        io_uring_sqe* sqe = _ctx.owner().ring().get_sqe();
        if (_ctx.multishot_accept()) {
            io_uring_prep_multishot_accept(sqe, _fd, nullptr, nullptr, SOCK_CLOEXEC);
        } else {
            io_uring_prep_accept(sqe, _fd, nullptr, nullptr, SOCK_CLOEXEC); // one connection per arm
        }
        io_uring_sqe_set_data(sqe, static_cast<percore::detail::io_completion*>(this));
        _armed = true;
    }

    void complete(int res, unsigned flags) noexcept override {
        if ((flags & IORING_CQE_F_MORE) == 0) {
            _armed = false;
            _cancelling = false;
        }
        if (res >= 0) {
            if (_closed) {
                ::close(res);
            } else {
                if (_options.nodelay) {
                    int one = 1;
                    ::setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                }
                _ready.push_back(res);
                if (_ready.size() >= _options.accept_queue && _armed && !_cancelling) {
                    percore::detail::submit_cancel(this); // nobody takes them: let the backlog fill instead
                    _cancelling = true;
                }
            }
        } else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR && !_closed) {
            // EMFILE, ENFILE, ENOMEM, ...: the multishot accept ended; the next accept() reports and re-arms.
            _error = -res;
        }
        if (_closed) {
            release_if_done();
            return;
        }
        if (_waiter != nullptr) {
            if (ready()) {
                percore::detail::wake(std::exchange(_waiter, nullptr));
            } else if (!_armed) {
                arm();
            }
        }
    }

    void close_handle() noexcept {
        if (_closed) {
            return;
        }
        _closed = true;
        for (int fd : _ready) {
            ::close(fd);
        }
        _ready.clear();
        if (_waiter != nullptr) {
            percore::detail::wake(std::exchange(_waiter, nullptr));
        }
        cancel_all();
        release_if_done();
    }

    void cancel_all() noexcept override {
        if (_armed && !_cancelling) {
            percore::detail::submit_cancel(this);
            _cancelling = true;
        }
    }
    [[nodiscard]] bool idle() const noexcept override { return !_armed; }

    [[nodiscard]] int fd() const noexcept { return _fd; }
    [[nodiscard]] std::uint64_t accepted() const noexcept { return _accepted; }

private:
    ~listener_state() {
        if (linked()) {
            net_context::untrack(*this);
        }
        ::close(_fd);
    }
    void release_if_done() noexcept {
        if (_closed && !_armed && !_parked) {
            delete this;
        }
    }
    static void cancel_waiter(void* self) noexcept {
        auto* s = static_cast<listener_state*>(self);
        percore::detail::wake(std::exchange(s->_waiter, nullptr)); // throw_if_aborted raises in the awaiter
    }

    int _fd;
    listen_options _options;
    net_context& _ctx;
    bool _armed = false;
    bool _cancelling = false;
    bool _closed = false;
    bool _parked = false; // a fiber is in accept_awaiter (woken or not): the state must stay
    int _error = 0;
    std::uint64_t _accepted = 0;
    std::deque<int> _ready;
    percore::detail::fiber* _waiter = nullptr;
};

} // namespace detail

namespace {

// A socket file left behind by a previous run would make bind fail with EADDRINUSE; anything else at the path
// is not ours to remove.
void remove_stale_unix_socket(const socket_address& a) {
    const auto* sun = reinterpret_cast<const sockaddr_un*>(a.native());
    if (sun->sun_path[0] == '\0') {
        return; // abstract
    }
    struct stat st {};
    if (::lstat(sun->sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        ::unlink(sun->sun_path);
    }
}

} // namespace

listener listener::listen(const socket_address& address, const listen_options& options) {
    detail::fd_guard fd(detail::open_socket(address.family(), SOCK_STREAM, detail::describe("socket for", address)));
    if (address.is_unix()) {
        remove_stale_unix_socket(address);
    } else {
        detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
        if (options.reuse_port) {
            detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
        }
    }
    if (::bind(fd.get(), address.native(), address.length()) != 0) {
        throw std::system_error(errno, std::system_category(), detail::describe("bind", address));
    }
    if (::listen(fd.get(), options.backlog) != 0) {
        throw std::system_error(errno, std::system_category(), detail::describe("listen on", address));
    }
    listen_options accepted = options;
    accepted.nodelay = options.nodelay && !address.is_unix(); // TCP_NODELAY means nothing to a Unix socket
    return listener(new detail::listener_state(fd.release(), accepted, detail::net_context::local()));
}

listener::listener(listener&& o) noexcept
    : _state(std::exchange(o._state, nullptr)) {
}

listener& listener::operator=(listener&& o) noexcept {
    if (this != &o) {
        close();
        _state = std::exchange(o._state, nullptr);
    }
    return *this;
}

listener::~listener() {
    close();
}

void listener::close() noexcept {
    if (_state != nullptr) {
        std::exchange(_state, nullptr)->close_handle();
    }
}

task<int> listener::accept_fd() {
    if (_state == nullptr) {
        throw std::system_error(EBADF, std::system_category(), "accept on a closed listener");
    }
    co_return co_await detail::listener_state::accept_awaiter{*_state};
}

task<connection> listener::accept() {
    int fd = co_await accept_fd();
    co_return connection(fd);
}

socket_address listener::local_address() const {
    return detail::local_address_of(_state->fd());
}

std::uint64_t listener::accepted() const noexcept {
    return _state != nullptr ? _state->accepted() : 0;
}

} // namespace percore::net
