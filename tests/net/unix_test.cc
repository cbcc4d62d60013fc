#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

#include "net/connection.hh"
#include "net/listener.hh"
#include "runtime/spawn.hh"
#include "runtime/with_timeout.hh"
#include "tests/net/net_test.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

/// A fresh temporary directory, removed with what is in it.
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/percore-unix-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
};

task<> echo_once(const socket_address& a) {
    auto l = listener::listen(a);
    auto server = spawn(accept_and_echo(l, 3));
    for (int i = 0; i < 3; ++i) {
        const bool ok = co_await with_timeout(10s, echo_round_trip(a, random_bytes(100'000 * i + 7, i), 5000));
        CHECK(ok);
    }
    co_await server;
}

} // namespace

TEST_SUITE("net/unix") {
    RUNTIME_TEST_CASE("a Unix stream listener on a path serves connections") {
        temp_dir dir;
        const auto a = socket_address::parse("unix:" + dir.path + "/echo.sock");
        co_await echo_once(a);
        struct stat st {};
        CHECK(::lstat((dir.path + "/echo.sock").c_str(), &st) == 0);
    }

    RUNTIME_TEST_CASE("a Unix stream listener on an abstract name serves connections") {
        const auto a = socket_address::parse("unix:@percore-unix-test-" + std::to_string(::getpid()));
        co_await echo_once(a);
    }

    RUNTIME_TEST_CASE("a stale socket file at the path is replaced") {
        temp_dir dir;
        const std::string path = dir.path + "/stale.sock";
        const auto a = socket_address::unix_path(path);
        {
            // A socket file left behind by a process that is gone.
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            REQUIRE(::bind(fd, a.native(), a.length()) == 0);
            ::close(fd);
        }
        co_await echo_once(a);
    }

    RUNTIME_TEST_CASE("a regular file at the path is left alone and binding fails naming it") {
        temp_dir dir;
        const std::string path = dir.path + "/not-a-socket";
        int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
        std::string what;
        int error = 0;
        try {
            auto l = listener::listen(socket_address::unix_path(path));
        } catch (const std::system_error& e) {
            error = e.code().value();
            what = e.what();
        }
        CHECK(error == EADDRINUSE);
        CHECK(what.find(path) != std::string::npos);
        struct stat st {};
        CHECK(::lstat(path.c_str(), &st) == 0);
        CHECK(S_ISREG(st.st_mode));
        co_return;
    }

    RUNTIME_TEST_CASE("connecting to a Unix path nobody listens on fails naming it") {
        temp_dir dir;
        const auto a = socket_address::unix_path(dir.path + "/nobody.sock");
        std::string what;
        int error = 0;
        try {
            connection c = co_await connect(a);
        } catch (const std::system_error& e) {
            error = e.code().value();
            what = e.what();
        }
        CHECK(error == ENOENT);
        CHECK(what.find(a.to_string()) != std::string::npos);
    }

    RUNTIME_TEST_CASE("Unix connections report their addresses") {
        const std::string name = "@percore-unix-addr-" + std::to_string(::getpid());
        auto l = listener::listen(socket_address::unix_path(name));
        CHECK(l.local_address().to_string() == "unix:" + name);
        auto accepted = spawn(l.accept());
        connection c = co_await with_timeout(5s, connect(l.local_address()));
        connection s = co_await accepted;
        CHECK(c.remote_address().to_string() == "unix:" + name);
        CHECK(s.local_address().to_string() == "unix:" + name);
        CHECK(s.remote_address().to_string() == "unix:(unnamed)");
    }
}
