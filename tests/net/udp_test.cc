#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "net/udp.hh"
#include "runtime/errors.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "runtime/with_timeout.hh"
#include "tests/net/net_test.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

task<int> receive_error(udp_channel& ch) {
    try {
        datagram d = co_await ch.receive();
    } catch (const std::system_error& e) {
        co_return e.code().value();
    }
    co_return 0;
}

} // namespace

TEST_SUITE("net/udp") {
    RUNTIME_TEST_CASE("datagrams round-trip and report the sender's address") {
        auto a = udp_channel::bind(loopback_any_port());
        auto b = udp_channel::bind(loopback_any_port());
        CHECK(a.local_address().port() != 0);
        for (int i = 0; i < 100; ++i) {
            const std::string payload = random_bytes(static_cast<std::size_t>(1 + i * 97), i);
            co_await a.send_to(b.local_address(), payload);
            datagram d = co_await with_timeout(5s, b.receive());
            CHECK(d.data.view() == payload);
            CHECK(d.from == a.local_address());
            co_await b.send_to(d.from, d.data.view()); // reply to where it came from
            datagram r = co_await with_timeout(5s, a.receive());
            CHECK(r.data.view() == payload);
            CHECK(r.from == b.local_address());
        }
    }

    RUNTIME_TEST_CASE("an empty datagram is received as an empty one") {
        auto a = udp_channel::bind(loopback_any_port());
        auto b = udp_channel::bind(loopback_any_port());
        co_await a.send_to(b.local_address(), "");
        datagram d = co_await with_timeout(5s, b.receive());
        CHECK(d.data.empty());
        CHECK(d.from == a.local_address());
    }

    RUNTIME_TEST_CASE("a datagram longer than max_datagram raises EMSGSIZE and the next one is received") {
        auto a = udp_channel::bind(loopback_any_port());
        auto b = udp_channel::bind(loopback_any_port(), {.max_datagram = 100});
        co_await a.send_to(b.local_address(), std::string(101, 'x'));
        co_await a.send_to(b.local_address(), std::string(100, 'y'));
        const int error = co_await with_timeout(5s, receive_error(b));
        CHECK(error == EMSGSIZE);
        datagram d = co_await with_timeout(5s, b.receive());
        CHECK(d.data.view() == std::string(100, 'y'));
    }

    RUNTIME_TEST_CASE("a datagram too large for UDP raises EMSGSIZE on send") {
        auto a = udp_channel::bind(loopback_any_port());
        int error = 0;
        try {
            co_await a.send_to(a.local_address(), std::string(70'000, 'z'));
        } catch (const std::system_error& e) {
            error = e.code().value();
        }
        CHECK(error == EMSGSIZE);
    }

    RUNTIME_TEST_CASE("IPv6 datagrams report an IPv6 sender") {
        auto a = udp_channel::bind(socket_address::parse("[::1]:0"));
        auto b = udp_channel::bind(socket_address::parse("[::1]:0"));
        co_await a.send_to(b.local_address(), "six");
        datagram d = co_await with_timeout(5s, b.receive());
        CHECK(d.data.view() == "six");
        CHECK(d.from.to_string() == a.local_address().to_string());
    }

    RUNTIME_TEST_CASE("aborting a task blocked in receive raises aborted") {
        auto a = udp_channel::bind(loopback_any_port());
        const bool was_aborted = co_await abort_while_parked(spawn(receive_error(a)));
        CHECK(was_aborted);
    }

    RUNTIME_TEST_CASE("Unix datagram sockets exchange datagrams") {
        const std::string name = "@percore-udp-test-" + std::to_string(::getpid());
        auto a = udp_channel::bind(socket_address::unix_path(name + "-a"));
        auto b = udp_channel::bind(socket_address::unix_path(name + "-b"));
        co_await a.send_to(b.local_address(), "local");
        datagram d = co_await with_timeout(5s, b.receive());
        CHECK(d.data.view() == "local");
        CHECK(d.from.to_string() == "unix:" + name + "-a");
    }

    TEST_CASE("binding a UDP port in use throws naming the address") {
        percore::sync_wait(
            []() -> task<> {
                auto a = udp_channel::bind(loopback_any_port());
                std::string what;
                try {
                    auto b = udp_channel::bind(a.local_address());
                } catch (const std::system_error& e) {
                    what = e.what();
                }
                CHECK(what.find(a.local_address().to_string()) != std::string::npos);
                co_return;
            }(),
            percore::test::reactor_config_for_tests());
    }
}
