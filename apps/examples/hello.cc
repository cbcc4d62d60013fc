// percore-hello: the smallest complete percore program.
//
// A producer task sends numbers into a bounded channel every 100 ms; a consumer sums them; a periodic tick
// reports progress once a second. Ctrl-C (SIGINT) or SIGTERM closes the channel, both tasks finish, and the
// program exits 0.
//
//   scripts/run hello [--seconds N]     # stop by itself after N seconds
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/run.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/channel.hh"
#include "runtime/timer.hh"
#include "runtime/with_timeout.hh"

using namespace std::chrono_literals;

namespace {

percore::task<> produce(percore::channel<int>& numbers) {
    try {
        for (int i = 1;; ++i) {
            co_await numbers.send(i);
            co_await percore::sleep_for(100ms);
        }
    } catch (const percore::channel_closed&) {
        // the consumer side decided to stop
    }
}

percore::task<long> consume(percore::channel<int>& numbers) {
    long sum = 0;
    percore::interval every_second(1s);
    auto report = percore::spawn([&]() -> percore::task<> {
        for (;;) {
            co_await every_second.tick();
            std::printf("sum so far: %ld\n", sum);
            std::fflush(stdout);
        }
    });
    while (auto n = co_await numbers.recv()) {
        sum += *n;
    }
    report.abort();
    co_await report.wait();
    co_return sum;
}

percore::task<int> hello_main(long seconds) {
    percore::channel<int> numbers(16);
    auto stop = [&] { numbers.close(); };
    percore::handle_signal(SIGINT, stop);
    percore::handle_signal(SIGTERM, stop);
    percore::timer deadline(stop);
    if (seconds > 0) {
        deadline.arm(std::chrono::seconds(seconds));
    }
    auto producer = percore::spawn(produce(numbers));
    long sum = co_await consume(numbers);
    co_await producer;
    std::printf("stopped; final sum %ld\n", sum);
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    long seconds = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = std::strtol(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: percore-hello [--seconds N]\n");
            return 2;
        }
    }
    return percore::run([seconds] { return hello_main(seconds); });
}
