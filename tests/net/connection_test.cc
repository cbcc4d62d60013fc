// Socket options of a connection, read back from the kernel with getsockopt.
#include <chrono>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
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

int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
    return value;
}

bool nodelay(const connection& c) {
    return int_option(c.fd(), IPPROTO_TCP, TCP_NODELAY) != 0;
}

/// A connected pair over `a`: `client` made by connect() with `options`, `server` by accept().
struct socket_pair {
    listener l;
    connection client;
    connection server;
};

task<socket_pair> make_pair(socket_address a, connect_options options = {}) {
    socket_pair p;
    p.l = listener::listen(a);
    auto accepted = spawn(p.l.accept());
    p.client = co_await with_timeout(5s, connect(p.l.local_address(), options));
    p.server = co_await accepted;
    co_return p;
}

} // namespace

TEST_SUITE("net/connection") {
    RUNTIME_TEST_CASE("connect sets TCP_NODELAY unless the options say not to") {
        socket_pair with = co_await make_pair(loopback_any_port());
        CHECK(nodelay(with.client));
        // A fresh TCP socket has Nagle's algorithm on: nodelay = false leaves it so.
        socket_pair without = co_await make_pair(loopback_any_port(), {.nodelay = false});
        CHECK_FALSE(nodelay(without.client));
    }

    RUNTIME_TEST_CASE("set_nodelay turns TCP_NODELAY off and on") {
        socket_pair p = co_await make_pair(loopback_any_port());
        p.client.set_nodelay(false);
        CHECK_FALSE(nodelay(p.client));
        p.client.set_nodelay(true);
        CHECK(nodelay(p.client));
        p.server.set_nodelay(false);
        CHECK_FALSE(nodelay(p.server));
        CHECK(nodelay(p.client)); // each socket its own
    }

    RUNTIME_TEST_CASE("set_keepalive turns on SO_KEEPALIVE with the given probing, and turns it off") {
        socket_pair p = co_await make_pair(loopback_any_port());
        const int fd = p.client.fd();
        CHECK(int_option(fd, SOL_SOCKET, SO_KEEPALIVE) == 0);
        p.client.set_keepalive(true, {.idle = 7s, .interval = 3s, .count = 4});
        CHECK(int_option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
        CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 7);
        CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 3);
        CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPCNT) == 4);
        p.client.set_keepalive(true); // the defaults: a minute idle, then a probe every 10 s, 6 of them
        CHECK(int_option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
        CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 60);
        CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 10);
        CHECK(int_option(fd, IPPROTO_TCP, TCP_KEEPCNT) == 6);
        p.client.set_keepalive(false);
        CHECK(int_option(fd, SOL_SOCKET, SO_KEEPALIVE) == 0);
        CHECK(int_option(p.server.fd(), SOL_SOCKET, SO_KEEPALIVE) == 0); // the other end is not touched
    }

    RUNTIME_TEST_CASE("set_nodelay has no effect on a Unix connection") {
        socket_pair p =
            co_await make_pair(socket_address::unix_path("@percore-connection-test-" + std::to_string(::getpid())));
        CHECK_NOTHROW(p.client.set_nodelay(true)); // the kernel has no TCP_NODELAY for it (EOPNOTSUPP)
        CHECK_NOTHROW(p.server.set_nodelay(false));
        co_await p.client.output().write("still fine");
        co_await p.client.output().close();
        std::string got = co_await with_timeout(5s, read_all(p.server.input()));
        CHECK(got == "still fine");
    }
}
