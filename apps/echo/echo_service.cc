#include "apps/echo/echo_service.hh"

#include "runtime/errors.hh"
#include "runtime/metrics/registry.hh"

namespace percore::echo {

namespace {

struct shard_counters {
    metrics::counter messages;
    metrics::counter bytes;
    metrics::registration registered[2];
};

// One per shard thread. Its registrations may outlive the shard's registry: they then do nothing.
thread_local shard_counters tl_counters;

shard_counters& counters() {
    return tl_counters;
}

} // namespace

void register_metrics() {
    shard_counters& c = counters();
    auto& reg = metrics::local_registry();
    c.registered[0] = reg.add("percore_echo_messages_total", "Reads echoed back (one per receive)", {}, c.messages);
    c.registered[1] = reg.add("percore_echo_bytes_total", "Bytes echoed back", {}, c.bytes);
}

task<> serve(net::connection c, std::chrono::milliseconds idle_timeout) {
    net::input_stream& in = c.input();
    net::output_stream& out = c.output();
    shard_counters& count = counters();
    c.set_read_timeout(idle_timeout);
    for (;;) {
        // Whatever arrived, as it arrived: a receive buffer goes back out without a copy.
        net::buffer data = co_await in.read();
        if (data.empty()) {
            break; // the client half-closed: everything it sent has been echoed
        }
        ++count.messages;
        count.bytes += data.size();
        co_await out.write(std::move(data));
        co_await out.flush();
    }
    co_await out.close();
}

} // namespace percore::echo
