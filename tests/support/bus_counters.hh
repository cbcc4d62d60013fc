/// \file
/// \brief `final_bus_counters`: every shard's bus counters as they stood when the engine stopped, to check the
/// shutdown handshake (every request sent was run, every reply came back).
///
/// \code
/// percore::test::final_bus_counters counters(4);
/// run_sharded(4, main);                  // main starts with co_await counters.install();
/// CHECK(counters.all_recorded());
/// auto t = counters.total();
/// CHECK(t.sent == t.processed);
/// \endcode
///
/// It installs a poller after the bus's. A reactor that shuts down asks all its pollers, in order, whether they
/// are quiet, and the last time it asks before it stops comes right after the bus said yes: the counters this
/// poller copies then are final. The object must outlive the engine (the reactors keep a pointer to its pollers).
#pragma once

#include <vector>

#include "runtime/poller.hh"
#include "runtime/reactor.hh"
#include "runtime/task.hh"
#include "shard/bus.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore::test {

class final_bus_counters {
public:
    explicit final_bus_counters(unsigned shards)
        : _watches(shards) {}

    /// Starts watching every shard. Call from the engine's main task, before the traffic to be counted.
    task<> install() {
        final_bus_counters* self = this;
        // From a task on each shard: a message handler runs while the reactor walks its pollers, and must not add
        // one then.
        co_await invoke_on_all([self]() -> task<> {
            this_reactor().add_poller(self->_watches.at(this_shard_id()));
            co_return;
        });
    }

    /// Whether every shard recorded its counters while stopping. Read after the engine returned.
    [[nodiscard]] bool all_recorded() const {
        for (const auto& w : _watches) {
            if (!w.recorded) {
                return false;
            }
        }
        return true;
    }

    /// The sums over all shards. Read after the engine returned.
    [[nodiscard]] shard_bus::stats total() const {
        shard_bus::stats t;
        for (const auto& w : _watches) {
            t.sent += w.last.sent;
            t.processed += w.last.processed;
            t.completed += w.last.completed;
            t.flushes += w.last.flushes;
            t.wakeups += w.last.wakeups;
        }
        return t;
    }

private:
    struct watch final : poller {
        shard_bus::stats last;
        bool recorded = false;

        bool poll() override { return false; }
        bool try_enter_sleep() override { return true; }
        bool quiescent() override {
            if (const shard_bus* bus = shard_bus::try_local()) {
                last = bus->counters();
                recorded = true;
            }
            return true;
        }
    };

    std::vector<watch> _watches;
};

} // namespace percore::test
