#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/channel.hh"
#include "runtime/timer.hh"
#include "tests/support/counted.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;
using percore::test::counted;

namespace {

/// Lets every runnable task run until it parks (a few scheduler passes).
task<> settle() {
    for (int i = 0; i < 5; ++i) {
        co_await yield();
    }
}

/// A small deterministic generator, so the interleavings vary between tasks but not between runs.
struct lcg {
    unsigned state;
    unsigned next() {
        state = state * 1103515245u + 12345u;
        return state >> 16;
    }
};

task<> random_yields(lcg& r) {
    for (unsigned n = r.next() % 3; n > 0; --n) {
        co_await yield();
    }
}

} // namespace

TEST_SUITE("runtime/channel") {
    RUNTIME_TEST_CASE("values come out in the order they were sent") {
        channel<int> ch(4);
        std::vector<int> received;
        auto consumer = spawn([&]() -> task<> {
            while (auto v = co_await ch.recv()) {
                received.push_back(*v);
            }
        });
        for (int i = 0; i < 100; ++i) { // many times the capacity: the buffer wraps around
            co_await ch.send(i);
        }
        ch.close();
        co_await consumer;
        REQUIRE(received.size() == 100);
        for (int i = 0; i < 100; ++i) {
            CHECK(received[i] == i);
        }
    }

    RUNTIME_TEST_CASE("send waits while the channel is full and resumes when a receiver makes room") {
        channel<int> ch(2);
        co_await ch.send(1);
        co_await ch.send(2);
        CHECK(ch.size() == 2);
        bool sent = false;
        auto sender = spawn([&]() -> task<> {
            co_await ch.send(3);
            sent = true;
        });
        co_await settle();
        CHECK_FALSE(sent);
        CHECK(ch.size() == 2);
        CHECK(co_await ch.recv() == 1);
        co_await sender;
        CHECK(sent);
        CHECK(ch.size() == 2);
        CHECK(co_await ch.recv() == 2);
        CHECK(co_await ch.recv() == 3);
        CHECK(ch.empty());
    }

    RUNTIME_TEST_CASE("recv waits while the channel is empty") {
        channel<int> ch(2);
        std::optional<int> got;
        auto receiver = spawn([&]() -> task<> { got = co_await ch.recv(); });
        co_await settle();
        CHECK_FALSE(receiver.done());
        CHECK_FALSE(got.has_value());
        co_await ch.send(5);
        co_await receiver;
        CHECK(got == 5);
    }

    RUNTIME_TEST_CASE("a send meeting a waiting receiver hands the value over without buffering it") {
        channel<int> ch(1);
        std::optional<int> first;
        std::optional<int> second;
        auto r1 = spawn([&]() -> task<> { first = co_await ch.recv(); });
        auto r2 = spawn([&]() -> task<> { second = co_await ch.recv(); });
        co_await settle();
        CHECK(ch.try_send(7)); // goes to the first waiting receiver
        CHECK(ch.empty());
        co_await ch.send(8); // to the second: the buffer stays empty, so a capacity of 1 is no limit here
        CHECK(ch.empty());
        co_await r1;
        co_await r2;
        CHECK(first == 7);
        CHECK(second == 8);
    }

    RUNTIME_TEST_CASE("close fails waiting senders with channel_closed and later sends too") {
        channel<int> ch(1);
        co_await ch.send(1);
        auto sender = spawn([&]() -> task<> { co_await ch.send(2); });
        co_await settle();
        CHECK_FALSE(sender.done());
        ch.close();
        CHECK(ch.is_closed());
        CHECK_THROWS_AS(co_await sender, channel_closed);
        CHECK_THROWS_AS(co_await ch.send(3), channel_closed);
        CHECK_FALSE(ch.try_send(4));
        // The value buffered before close is still delivered; the waiting sender's value was dropped.
        CHECK(co_await ch.recv() == 1);
        CHECK_FALSE((co_await ch.recv()).has_value());
    }

    RUNTIME_TEST_CASE("after close, receivers drain the buffer and then get std::nullopt") {
        channel<std::string> ch(4);
        co_await ch.send("a");
        co_await ch.send("b");
        co_await ch.send("c");
        ch.close();
        ch.close(); // idempotent
        CHECK(co_await ch.recv() == "a");
        CHECK(ch.try_recv() == "b");
        CHECK(co_await ch.recv() == "c");
        CHECK_FALSE((co_await ch.recv()).has_value());
        CHECK_FALSE((co_await ch.recv()).has_value());
        CHECK_FALSE(ch.try_recv().has_value());
    }

    RUNTIME_TEST_CASE("close wakes every waiting receiver with std::nullopt") {
        channel<int> ch(2);
        int woken_empty = 0;
        std::vector<join_handle<void>> hs;
        for (int i = 0; i < 3; ++i) {
            hs.push_back(spawn([&]() -> task<> {
                auto v = co_await ch.recv();
                if (!v.has_value()) {
                    ++woken_empty;
                }
            }));
        }
        co_await settle();
        ch.close();
        for (auto& h : hs) {
            co_await h;
        }
        CHECK(woken_empty == 3);
    }

    RUNTIME_TEST_CASE("try_send and try_recv never wait") {
        channel<std::unique_ptr<int>> ch(2);
        CHECK_FALSE(ch.try_recv().has_value());
        CHECK(ch.try_send(std::make_unique<int>(1)));
        CHECK(ch.try_send(std::make_unique<int>(2)));
        auto third = std::make_unique<int>(3);
        CHECK_FALSE(ch.try_send(std::move(third)));
        REQUIRE(third != nullptr); // a refused value is left untouched
        CHECK(*third == 3);
        auto v = ch.try_recv();
        REQUIRE(v.has_value());
        CHECK(**v == 1);
        CHECK(ch.try_send(std::move(third)));
        CHECK(ch.size() == 2);
        co_return;
    }

    RUNTIME_TEST_CASE("try_recv lets a waiting sender refill the freed slot") {
        channel<int> ch(1);
        co_await ch.send(1);
        auto sender = spawn([&]() -> task<> { co_await ch.send(2); });
        co_await settle();
        CHECK(ch.try_recv() == 1);
        co_await sender;
        CHECK(ch.size() == 1);
        CHECK(ch.try_recv() == 2);
    }

    TEST_CASE("a channel of capacity 0 is rejected") {
        CHECK_THROWS_AS(channel<int>(0), std::invalid_argument);
        channel<int> one(1);
        CHECK(one.capacity() == 1);
    }

    RUNTIME_TEST_CASE("many producers and consumers with random yields lose, duplicate and copy no value") {
        constexpr int producers = 8;
        constexpr int per_producer = 400;
        constexpr int consumers = 5;
        counted::reset();
        std::vector<int> seen(producers * per_producer, 0);
        {
            channel<counted> ch(8);
            std::vector<join_handle<void>> ps;
            std::vector<join_handle<int>> cs;
            for (int c = 0; c < consumers; ++c) {
                cs.push_back(spawn([&, c]() -> task<int> {
                    lcg r{static_cast<unsigned>(c * 7919 + 1)};
                    int n = 0;
                    while (auto v = co_await ch.recv()) {
                        ++seen.at(static_cast<std::size_t>(v->id));
                        ++n;
                        co_await random_yields(r);
                    }
                    co_return n;
                }));
            }
            for (int p = 0; p < producers; ++p) {
                ps.push_back(spawn([&, p]() -> task<> {
                    lcg r{static_cast<unsigned>(p * 104729 + 3)};
                    for (int i = 0; i < per_producer; ++i) {
                        co_await ch.send(counted(p * per_producer + i));
                        co_await random_yields(r);
                    }
                }));
            }
            for (auto& p : ps) {
                co_await p;
            }
            ch.close();
            int total = 0;
            for (auto& c : cs) {
                total += co_await c;
            }
            CHECK(total == producers * per_producer);
        }
        int missing = 0;
        int duplicated = 0;
        for (int n : seen) {
            missing += n == 0 ? 1 : 0;
            duplicated += n > 1 ? 1 : 0;
        }
        CHECK(missing == 0);
        CHECK(duplicated == 0);
        CHECK(counted::copies == 0);
        CHECK(counted::alive() == 0);
    }

    RUNTIME_TEST_CASE("a receiver handed a value and aborted before it resumes still returns the value") {
        channel<int> ch(1);
        std::optional<int> got;
        bool raised_later = false;
        join_handle<void> receiver;
        receiver = spawn([&]() -> task<> {
            got = co_await ch.recv();
            try {
                co_await yield(); // the abort shows at the next suspension point
            } catch (const aborted&) {
                raised_later = true;
                throw;
            }
        });
        co_await settle(); // the receiver parks on the empty channel
        auto producer = spawn([&]() -> task<> {
            co_await ch.send(42); // hands 42 to the parked receiver and wakes it...
            receiver.abort();     // ...which is aborted in the same pass, before it resumed
        });
        co_await producer;
        CHECK_THROWS_AS(co_await receiver, aborted);
        CHECK(got == 42); // completion won over the abort: the value is not lost
        CHECK(raised_later);
        CHECK(ch.empty());
    }

    RUNTIME_TEST_CASE("a sender whose value was taken and then aborted before it resumes completes its send") {
        channel<int> ch(1);
        co_await ch.send(1);
        bool sent = false;
        join_handle<void> sender;
        sender = spawn([&]() -> task<> {
            co_await ch.send(2);
            sent = true;
            co_await yield();
        });
        co_await settle(); // the sender parks on the full channel
        std::optional<int> first;
        auto taker = spawn([&]() -> task<> {
            first = ch.try_recv(); // frees the slot: the waiting sender's 2 moves in and the sender is woken...
            sender.abort();        // ...and aborted before it resumed
            co_return;
        });
        co_await taker;
        CHECK_THROWS_AS(co_await sender, aborted);
        CHECK(first == 1);
        CHECK(sent); // the send completed; the abort showed at the next suspension point
        CHECK(ch.try_recv() == 2);
    }

    RUNTIME_TEST_CASE("an aborted waiting receiver does not swallow a later value") {
        channel<int> ch(2);
        auto receiver = spawn([&]() -> task<> { (void)co_await ch.recv(); });
        co_await settle();
        receiver.abort();
        CHECK_THROWS_AS(co_await receiver, aborted);
        co_await ch.send(9);
        CHECK(ch.size() == 1);
        CHECK(co_await ch.recv() == 9);
    }

    RUNTIME_TEST_CASE("an aborted waiting sender's value is not delivered") {
        channel<int> ch(1);
        co_await ch.send(1);
        auto sender = spawn([&]() -> task<> { co_await ch.send(2); });
        co_await settle();
        sender.abort();
        CHECK_THROWS_AS(co_await sender, aborted);
        CHECK(co_await ch.recv() == 1);
        CHECK(ch.empty());
        CHECK_FALSE(ch.try_recv().has_value());
        co_await ch.send(3); // the channel works on
        CHECK(co_await ch.recv() == 3);
    }

    RUNTIME_TEST_CASE("a channel destroyed with values inside destroys them") {
        counted::reset();
        {
            channel<counted> ch(4);
            co_await ch.send(counted(1));
            co_await ch.send(counted(2));
            CHECK(counted::alive() == 2);
        }
        CHECK(counted::alive() == 0);
        CHECK(counted::copies == 0);
    }
}
