#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <vector>

#include "net/config.hh"
#include "net/connection.hh"
#include "net/detail/net_context.hh"
#include "net/listener.hh"
#include "runtime/errors.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "runtime/with_timeout.hh"
#include "tests/net/net_test.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

/// A connected pair over loopback: `client` made by connect(), `server` by accept().
struct socket_pair {
    listener l;
    connection client;
    connection server;
};

task<socket_pair> make_pair() {
    socket_pair p;
    p.l = listener::listen(loopback_any_port());
    auto accepted = spawn(p.l.accept());
    p.client = co_await connect(p.l.local_address());
    p.server = co_await accepted;
    co_return p;
}

task<void> send_raw(connection& c, std::string bytes) {
    co_await c.output().write(std::string_view(bytes));
    co_await c.output().flush();
}

net::detail::net_context& ctx() {
    return net::detail::net_context::local();
}

/// Whether receives land in the shard's buffer ring (Linux 5.19+), where a test can see them arrive.
bool receives_observable() {
    if (!ctx().ring_available()) {
        MESSAGE("no buffer ring on this kernel: cannot tell one receive from the next, nothing to check here");
        return false;
    }
    return true;
}

/// Arms `c`'s receive without taking anything from it: a read aborted while it waits leaves the receive armed,
/// so what arrives next is received, and waits unread.
task<> arm_receive(connection& c) {
    const bool was_aborted = co_await abort_while_parked(spawn(read_once(c.input())));
    REQUIRE(was_aborted);
}

/// Sends `bytes` to the peer, whose receive arm_receive() armed, and waits until the peer holds them unread in one
/// ring buffer: they arrived in a receive of their own, and whatever is sent next comes in a later one.
task<> send_and_await_receive(connection& from, std::string bytes) {
    const unsigned free_before = ctx().free_buffers();
    co_await send_raw(from, std::move(bytes));
    const bool received = co_await wait_until([&] { return ctx().free_buffers() == free_before - 1; });
    REQUIRE(received);
}

/// Small kernel socket buffers, so that a peer that does not read stops the sender after a few hundred KiB.
void small_kernel_buffers(int fd) {
    int size = 64 * 1024;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0);
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
}

task<> many_connections_body(std::size_t n) {
    auto l = listener::listen(loopback_any_port());
    const socket_address a = l.local_address();
    auto server = spawn(accept_and_echo(l, n));
    std::mt19937 rng(42);
    std::vector<task<bool>> clients;
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        // Mostly small messages, some over a receive buffer, a few of several hundred KiB.
        const std::size_t size = i % 20 == 0 ? 100'000 + rng() % 400'000 : rng() % 40'000;
        total += size;
        clients.push_back(echo_round_trip(a, random_bytes(size, static_cast<std::uint32_t>(i)), 1 + rng() % 9000));
    }
    std::vector<bool> ok = co_await when_all(std::move(clients));
    co_await server;
    std::size_t good = 0;
    for (bool b : ok) {
        good += b ? 1 : 0;
    }
    CHECK(good == n);
    MESSAGE(total, " bytes echoed over ", n, " connections");
}

task<> sixteen_mib_body() {
    auto l = listener::listen(loopback_any_port());
    auto server = spawn(accept_and_echo(l, 1));
    const bool ok = co_await echo_round_trip(l.local_address(), random_bytes(16 << 20, 16), 1 << 20);
    CHECK(ok);
    co_await server;
}

} // namespace

TEST_SUITE("net/stream") {
    RUNTIME_TEST_CASE("200 concurrent connections echo random-sized messages byte for byte") {
        co_await with_timeout(25s, many_connections_body(200));
    }

    RUNTIME_TEST_CASE("a 16 MiB message comes back intact") {
        co_await with_timeout(25s, sixteen_mib_body());
    }

    RUNTIME_TEST_CASE("after the client shuts its sending side it still receives everything") {
        socket_pair p = co_await make_pair();
        const std::string payload = random_bytes(300'000, 3);
        co_await p.client.output().write(std::string_view(payload));
        co_await p.client.output().close(); // FIN: the server reads EOF after the payload
        auto served = spawn(echo_handler(std::move(p.server)));
        std::string got = co_await with_timeout(10s, read_all(p.client.input()));
        CHECK(got.size() == payload.size());
        CHECK(got == payload);
        co_await served;
    }

    RUNTIME_TEST_CASE("output_stream::close sends what was written, then the peer reads EOF") {
        socket_pair p = co_await make_pair();
        co_await send_raw(p.client, "bye");
        co_await p.client.output().close();
        std::string got = co_await with_timeout(5s, read_all(p.server.input()));
        CHECK(got == "bye");
        // The other direction still works.
        co_await send_raw(p.server, "still here");
        buffer b = co_await with_timeout(5s, p.client.input().read_exactly(10));
        CHECK(b.view() == "still here");
    }

    RUNTIME_TEST_CASE("output_stream::close flushes, half-closes, and leaves the input open") {
        socket_pair p = co_await make_pair();
        co_await p.server.output().write("last words");
        co_await p.server.output().close();
        std::string got = co_await with_timeout(5s, read_all(p.client.input()));
        CHECK(got == "last words");
        co_await send_raw(p.client, "reply after close");
        buffer b = co_await with_timeout(5s, p.server.input().read_exactly(17));
        CHECK(b.view() == "reply after close");
        co_await p.server.output().close(); // a second close is harmless
    }

    RUNTIME_TEST_CASE("read_exactly assembles bytes across receives and returns fewer at EOF") {
        socket_pair p = co_await make_pair();
        if (!receives_observable()) {
            co_return;
        }
        const std::string data = random_bytes(3 + 7 + 40000 + 5 + 33, 7);
        // The first receive holds two bytes, so the first read_exactly(3) needs two receives; 40000 bytes need three
        // at least, whatever the timing (one receive fills one ring buffer at most).
        REQUIRE(ctx().settings().recv_buffer_size < 40000 / 2);
        co_await arm_receive(p.server);
        co_await send_and_await_receive(p.client, data.substr(0, 2));
        auto reader = [](connection& c) -> task<std::vector<std::string>> {
            std::vector<std::string> parts;
            for (std::size_t n : {3, 7, 40000, 5}) {
                buffer b = co_await c.input().read_exactly(n);
                parts.push_back(b.str());
            }
            buffer tail = co_await c.input().read_exactly(100);
            parts.push_back(tail.str());
            buffer eof = co_await c.input().read_exactly(1);
            parts.push_back(eof.empty() ? "<eof>" : eof.str());
            co_return parts;
        };
        auto reading = spawn(reader(p.server));
        // The rest in pieces that do not line up with the reads.
        for (std::size_t pos = 2; pos < data.size(); pos += 1234) {
            co_await send_raw(p.client, data.substr(pos, 1234));
        }
        co_await p.client.output().close();
        std::vector<std::string> parts = co_await with_timeout(10s, joined(std::move(reading)));
        REQUIRE(parts.size() == 6);
        CHECK(parts[0] == data.substr(0, 3));
        CHECK(parts[1] == data.substr(3, 7));
        CHECK(parts[2] == data.substr(10, 40000));
        CHECK(parts[3] == data.substr(40010, 5));
        CHECK(parts[4] == data.substr(40015)); // 33 bytes: fewer than asked, at EOF
        CHECK(parts[5] == "<eof>");
    }

    RUNTIME_TEST_CASE("read_until finds a delimiter split across two receives") {
        socket_pair p = co_await make_pair();
        if (!receives_observable()) {
            co_return;
        }
        co_await arm_receive(p.server);
        // The first receive ends between '\r' and '\n': the server holds it before the rest is even sent.
        co_await send_and_await_receive(p.client, "GET / HTTP/1.1\r");
        co_await send_raw(p.client, "\nHost: x\r\n\r\nBODY");
        buffer line = co_await with_timeout(5s, p.server.input().read_until("\r\n", 1024));
        CHECK(line.view() == "GET / HTTP/1.1\r\n");
        buffer host = co_await with_timeout(5s, p.server.input().read_until("\r\n", 1024));
        CHECK(host.view() == "Host: x\r\n");
        buffer blank = co_await with_timeout(5s, p.server.input().read_until("\r\n", 1024));
        CHECK(blank.view() == "\r\n");
        co_await p.client.output().close();
        buffer rest = co_await with_timeout(5s, p.server.input().read_until("\r\n", 1024));
        CHECK(rest.view() == "BODY"); // EOF without the delimiter: what was left
        buffer eof = co_await with_timeout(5s, p.server.input().read_until("\r\n", 1024));
        CHECK(eof.empty());
    }

    RUNTIME_TEST_CASE("read_until over max raises length_error and the stream stays usable") {
        socket_pair p = co_await make_pair();
        if (!receives_observable()) {
            co_return;
        }
        // Two receives: the limit is passed in the second, which holds the next line too.
        co_await arm_receive(p.server);
        co_await send_and_await_receive(p.client, std::string(100, 'x'));
        co_await send_raw(p.client, std::string(100, 'y') + "\nnext line\n");
        bool too_long = false;
        try {
            (void)co_await with_timeout(5s, p.server.input().read_until("\n", 150));
        } catch (const std::length_error&) {
            too_long = true;
        }
        CHECK(too_long);
        // The first 150 bytes were dropped, and only those: the stream goes on with the 50 after them.
        buffer rest = co_await with_timeout(5s, p.server.input().read_until("\n", 1024));
        CHECK(rest.view() == std::string(50, 'y') + "\n");
        buffer next = co_await with_timeout(5s, p.server.input().read_until("\n", 1024));
        CHECK(next.view() == "next line\n");
    }

    RUNTIME_TEST_CASE("read_until over max in a single receive raises length_error") {
        socket_pair p = co_await make_pair();
        if (!receives_observable()) {
            co_return;
        }
        co_await arm_receive(p.server);
        co_await send_and_await_receive(p.client, std::string(300, 'z') + "\nok\n");
        bool too_long = false;
        try {
            (void)co_await with_timeout(5s, p.server.input().read_until("\n", 100));
        } catch (const std::length_error&) {
            too_long = true;
        }
        CHECK(too_long);
        // Only the first 100 bytes were dropped; the line after the over-long one arrived in the same receive and
        // must not be lost with it.
        buffer rest = co_await with_timeout(5s, p.server.input().read_until("\n", 1024));
        CHECK(rest.view() == std::string(200, 'z') + "\n");
        buffer next = co_await with_timeout(5s, p.server.input().read_until("\n", 1024));
        CHECK(next.view() == "ok\n");
    }

    RUNTIME_TEST_CASE("skip discards bytes within a receive and across receives, and stops at EOF") {
        socket_pair p = co_await make_pair();
        const std::string data = random_bytes(50'000, 11);
        auto writer = spawn(write_all_and_close(p.client.output(), data, 5000));
        input_stream& in = p.server.input();
        co_await with_timeout(5s, in.skip(3));
        buffer a = co_await with_timeout(5s, in.read_exactly(4));
        CHECK(a.view() == data.substr(3, 4));
        // Far more than one receive holds (a ring buffer at most), so skip has to read several.
        REQUIRE(ctx().settings().recv_buffer_size < 40'000 / 2);
        co_await with_timeout(5s, in.skip(40'000));
        buffer b = co_await with_timeout(5s, in.read_exactly(10));
        CHECK(b.view() == data.substr(40'007, 10));
        co_await with_timeout(5s, in.skip(1'000'000)); // past the end: stops at EOF
        buffer eof = co_await with_timeout(5s, read_once(in));
        CHECK(eof.empty());
        co_await writer;
    }

    RUNTIME_TEST_CASE("unread puts bytes back in front of the stream, ahead of what arrives later") {
        socket_pair p = co_await make_pair();
        input_stream& in = p.server.input();
        co_await send_raw(p.client, "GET /index");
        buffer got = co_await with_timeout(5s, read_once(in));
        REQUIRE(got.view() == "GET /index"); // one send of 10 bytes over loopback: one receive
        // A parser that read too far gives back what it did not use.
        in.unread(got.share(4, 6));
        got.reset();
        buffer back = co_await with_timeout(5s, read_once(in));
        CHECK(back.view() == "/index"); // exactly what was put back: nothing was received meanwhile
        in.unread(std::move(back));
        co_await send_raw(p.client, ".html\nnext");
        // The bytes put back come first, then those that arrived after them.
        buffer line = co_await with_timeout(5s, in.read_until("\n", 100));
        CHECK(line.view() == "/index.html\n");
        buffer rest = co_await with_timeout(5s, in.read_exactly(4));
        CHECK(rest.view() == "next");
    }

    RUNTIME_TEST_CASE("unsent counts bytes written and not yet taken by the kernel, small staged ones included") {
        socket_pair p = co_await make_pair();
        output_stream& out = p.client.output();
        CHECK(out.unsent() == 0);
        co_await out.write("abc"); // small: copied into a chunk, not queued yet
        CHECK(out.unsent() == 3);
        const std::string big = random_bytes(20'000, 12);
        co_await out.write(std::string_view(big)); // large: queued on its own
        CHECK(out.unsent() == 3 + big.size());
        co_await out.wait_sent(); // the kernel takes 20 KB at once: nobody need read
        CHECK(out.unsent() == 0);
        buffer got = co_await with_timeout(5s, p.server.input().read_exactly(3 + big.size()));
        CHECK(got.view() == "abc" + big);
    }

    RUNTIME_TEST_CASE("wait_sent waits until the kernel has taken every byte written; flush does not") {
        socket_pair p = co_await make_pair();
        small_kernel_buffers(p.client.fd());
        small_kernel_buffers(p.server.fd());
        output_stream& out = p.client.output();
        // Below max_unsent, so flush does not wait; far more than the two small socket buffers hold while the
        // server reads nothing (its receive is not even armed).
        const std::string payload = random_bytes(768 * 1024, 13);
        REQUIRE(payload.size() < current_config().max_unsent);
        co_await out.write(std::string_view(payload));
        co_await out.flush();
        CHECK(out.unsent() == payload.size()); // flush returned at once
        std::size_t unsent_after = 1;
        auto waiting = spawn([&]() -> task<> {
            co_await out.wait_sent();
            unsent_after = out.unsent();
        });
        co_await until_waiting(waiting); // the kernel cannot take it all: wait_sent waits
        buffer got = co_await with_timeout(10s, p.server.input().read_exactly(payload.size()));
        co_await with_timeout(5s, joined(std::move(waiting)));
        CHECK(unsent_after == 0);
        CHECK(got.size() == payload.size());
        CHECK(got.view() == payload);
    }

    RUNTIME_TEST_CASE("a read waiting longer than the read timeout raises timed_out") {
        socket_pair p = co_await make_pair();
        p.server.set_read_timeout(50ms);
        const auto start = std::chrono::steady_clock::now();
        bool timed = false;
        try {
            (void)co_await with_timeout(5s, p.server.input().read_exactly(1));
        } catch (const timed_out&) {
            timed = true;
        }
        const auto waited = std::chrono::steady_clock::now() - start;
        CHECK(timed);
        CHECK(waited >= 45ms);
        CHECK(waited < 2s);
        // Data that arrives later is still read.
        co_await send_raw(p.client, "late");
        buffer b = co_await p.server.input().read_exactly(4);
        CHECK(b.view() == "late");
    }

    RUNTIME_TEST_CASE("aborting a task blocked in read raises aborted and the connection stays usable") {
        socket_pair p = co_await make_pair();
        auto reader = [](connection& c) -> task<std::string> {
            buffer b = co_await c.input().read();
            co_return b.str();
        };
        const bool was_aborted = co_await abort_while_parked(spawn(reader(p.server)));
        CHECK(was_aborted);
        co_await send_raw(p.client, "after abort");
        buffer b = co_await with_timeout(5s, p.server.input().read_exactly(11));
        CHECK(b.view() == "after abort");
    }

    // Issue 10, item 8: a read woken by close_handle() looked at its stream's put-back buffer before asking the
    // state whether the connection was gone; when another task had destroyed the connection, that was freed
    // memory (ASan: heap-use-after-free).
    RUNTIME_TEST_CASE("a read parked while another task destroys its connection ends with ECANCELED") {
        socket_pair p = co_await make_pair();
        auto owned = std::make_unique<connection>(std::move(p.server));
        int error = 0;
        auto reader = spawn([&]() -> task<> {
            try {
                (void)co_await owned->input().read();
            } catch (const std::system_error& e) {
                error = e.code().value();
            }
        });
        co_await until_waiting(reader);
        owned.reset(); // the connection, and the input_stream the read belongs to, are gone
        co_await with_timeout(5s, joined(std::move(reader)));
        CHECK(error == ECANCELED);
    }

    RUNTIME_TEST_CASE("many small string writes are coalesced in order") {
        socket_pair p = co_await make_pair();
        std::string expected;
        for (int i = 0; i < 20000; ++i) {
            std::string piece = std::to_string(i) + (i % 7 == 0 ? std::string(i % 300, 'p') : "") + ",";
            expected += piece;
            co_await p.client.output().write(std::string_view(piece));
        }
        // A large write between small ones keeps its place.
        const std::string big = random_bytes(50'000, 9);
        co_await p.client.output().write(std::string_view(big));
        expected += big;
        co_await p.client.output().write("tail");
        expected += "tail";
        co_await p.client.output().close();
        std::string got = co_await with_timeout(10s, read_all(p.server.input()));
        CHECK(got.size() == expected.size());
        CHECK(got == expected);
    }

    RUNTIME_TEST_CASE("zero-copy buffer writes interleave with copied writes in order") {
        socket_pair p = co_await make_pair();
        co_await p.client.output().write("a");
        co_await p.client.output().write(buffer::copy_of("B"));
        co_await p.client.output().write("c");
        co_await p.client.output().write(buffer::copy_of("D"));
        co_await p.client.output().close();
        std::string got = co_await with_timeout(5s, read_all(p.server.input()));
        CHECK(got == "aBcD");
    }

    RUNTIME_TEST_CASE("a peer reset while the server reads ends the read with an error") {
        socket_pair p = co_await make_pair();
        co_await send_raw(p.client, "partial");
        buffer first = co_await p.server.input().read_exactly(7);
        CHECK(first.view() == "partial");
        set_linger_zero(p.client.fd());
        p.client.close();
        int error = 0;
        try {
            buffer b = co_await with_timeout(5s, read_once(p.server.input()));
            error = b.empty() ? -1 : -2;
        } catch (const std::system_error& e) {
            error = e.code().value();
        }
        CHECK(error == ECONNRESET);
    }

    RUNTIME_TEST_CASE("a peer reset while the server writes ends the writes with an error") {
        socket_pair p = co_await make_pair();
        auto writer = [](connection& c) -> task<int> {
            const std::string chunk = random_bytes(64 * 1024, 1);
            try {
                for (int i = 0; i < 100000; ++i) {
                    co_await c.output().write(std::string_view(chunk));
                    co_await c.output().flush();
                }
            } catch (const std::system_error& e) {
                co_return e.code().value();
            }
            co_return 0;
        };
        auto w = spawn(writer(p.server));
        buffer some = co_await p.client.input().read_exactly(1000);
        CHECK(some.size() == 1000);
        set_linger_zero(p.client.fd());
        p.client.close();
        const int error = co_await with_timeout(10s, joined(std::move(w)));
        CHECK((error == ECONNRESET || error == EPIPE));
    }

    RUNTIME_TEST_CASE("a read is a preemption point: a reader whose bytes are all there does not hold the shard") {
        // A server fed faster than it parses finds its next receive always ready: only a read that yields once
        // the time slice is up lets the shard's other connections, timers and tasks run.
        if (!receives_observable()) {
            co_return;
        }
        if (!ctx().multishot_recv()) {
            MESSAGE("one-shot receives: every read waits for its own receive, so it yields anyway");
            co_return;
        }
        socket_pair p = co_await make_pair();
        input_stream& in = p.server.input();
        co_await arm_receive(p.server);
        const unsigned free_before = ctx().free_buffers();
        co_await send_raw(p.client, std::string(1 << 20, 'x'));
        constexpr unsigned reads = 8;
        const bool queued = co_await wait_until([&] { return ctx().free_buffers() + reads <= free_before; });
        REQUIRE(queued);
        bool done = false;
        std::uint64_t ticks = 0;
        auto other = spawn([&]() -> task<> {
            while (!done) {
                ++ticks;
                co_await yield();
            }
        });
        std::uint64_t last_ticks = ticks;
        std::size_t run = 0;
        std::size_t longest_run = 0; // consecutive reads during which `other` never ran
        bool gave_up = false;
        for (unsigned i = 0; i < reads; ++i) {
            buffer b = co_await in.read();
            REQUIRE_FALSE(b.empty());
            // Parsing this receive takes the whole time slice (bounded, should preemption never come).
            const auto give_up = clock_type::now() + 2s;
            while (!need_preempt() && !gave_up) {
                gave_up = clock_type::now() > give_up;
            }
            run = ticks == last_ticks ? run + 1 : 1;
            last_ticks = ticks;
            longest_run = std::max(longest_run, run);
        }
        done = true;
        co_await std::move(other);
        CHECK_FALSE(gave_up);
        CHECK(longest_run <= 2);
    }

    RUNTIME_TEST_CASE("a read that yields while another task destroys its connection ends with ECANCELED") {
        // The yield a read makes when the slice is up (bytes ready) is a suspension too: the connection can go
        // meanwhile (CLIENT KILL from another client, a server stopping), and the read must notice, as a parked one.
        if (!receives_observable() || !ctx().multishot_recv()) {
            co_return;
        }
        socket_pair p = co_await make_pair();
        co_await arm_receive(p.server);
        co_await send_and_await_receive(p.client, "bytes that are ready");
        auto owned = std::make_unique<connection>(std::move(p.server));
        bool reading = false;
        int error = 0;
        std::string got;
        auto reader = spawn([&]() -> task<> {
            const auto give_up = clock_type::now() + 2s;
            while (!need_preempt() && clock_type::now() < give_up) {
            }
            reading = true;
            try {
                buffer b = co_await owned->input().read(); // the slice is up: it yields
                got = std::string(b.view());
            } catch (const std::system_error& e) {
                error = e.code().value();
            }
        });
        // Queued ahead of the reader whenever it yields, this task runs between its yield and its resumption.
        for (int i = 0; i < 1'000'000 && !reading; ++i) {
            co_await yield();
        }
        REQUIRE(reading);
        owned.reset(); // the connection, and the input_stream the yielded read belongs to, are gone
        co_await with_timeout(5s, joined(std::move(reader)));
        CHECK(got.empty());
        CHECK(error == ECANCELED);
    }

    RUNTIME_TEST_CASE("dropping a connection with a read in flight releases it") {
        const int before = count_fds();
        for (int i = 0; i < 50; ++i) {
            socket_pair p = co_await make_pair();
            auto reader = [](connection& c) -> task<> { (void)co_await c.input().read(); };
            auto h = spawn(reader(p.server));
            co_await until_waiting(h); // the receive is in flight
            h.abort();
            co_await h.wait();
            (void)h.exception();
        }
        // The sockets close when their cancelled receives complete.
        const bool released = co_await wait_until([&] { return count_fds() <= before; });
        CHECK(released);
    }
}
