/// \file
/// \brief `run_in_child(fn)`: runs `fn()` in a forked child with its stderr captured, for tests that signal,
/// sandbox (seccomp) or kill the process. The child exits with fn's return value.
///
/// \code
/// auto st = percore::test::run_in_child([] { return percore::run(main_task); });
/// CHECK(st.exited);
/// CHECK(st.code == 1);
/// CHECK(st.err.find("cannot start") != std::string::npos);
/// \endcode
///
/// Fork only from a test that runs no reactor and no other thread at that moment.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace percore::test {

struct child_status {
    bool exited = false;    ///< the child called exit (then `code` holds its status)
    int code = -1;          ///< exit status when `exited`
    int signal = 0;         ///< the signal that killed it, when it did not exit
    bool timed_out = false; ///< it was still running at the limit and was killed with SIGKILL
    std::string err;        ///< everything it wrote to stderr
};

template <typename F>
child_status run_in_child(F&& body, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::system_category(), "pipe2");
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::system_error(errno, std::system_category(), "fork");
    }
    if (pid == 0) {
        ::dup2(fds[1], STDERR_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        // The test framework's crash handlers are not wanted here: signals keep their default meaning.
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        int code = 255;
        try {
            code = body();
        } catch (...) {
            code = 254;
        }
        std::fflush(stderr);
        ::_exit(code);
    }
    ::close(fds[1]);
    child_status st;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            st.timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            continue; // the deadline check above ends the loop
        }
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) {
            st.err.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break; // end of file: the child (and anything it forked) is gone or closed stderr
        }
    }
    ::close(fds[0]);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(wstatus)) {
        st.exited = true;
        st.code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        st.signal = WTERMSIG(wstatus);
    }
    return st;
}

} // namespace percore::test
