#include "apps/kv/persistence/test_hooks.hh"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "shard/shard_id.hh"
#include "storage/fault_injection.hh"
#include "storage/power_loss.hh"

namespace percore::kv {

namespace {

std::vector<std::string> split(const char* text) {
    std::vector<std::string> out(1);
    for (const char* p = text; *p != '\0'; ++p) {
        if (*p == ':') {
            out.emplace_back();
        } else {
            out.back() += *p;
        }
    }
    return out;
}

int errno_of(const std::string& s) {
    if (s == "ENOSPC") {
        return ENOSPC;
    }
    if (s == "EIO") {
        return EIO;
    }
    return std::atoi(s.c_str());
}

std::atomic<unsigned> torn_shards{0};

task<> power_watch(storage::power_loss::cut_options opts) {
    while (!storage::power_loss::power_off()) {
        co_await sleep_for(std::chrono::milliseconds(5));
    }
    const auto r = co_await storage::power_loss::cut(opts);
    std::fprintf(stderr, "percore-kv: shard %u: simulated power cut: %llu files, %llu unsynced bytes, %llu lost\n",
                 this_shard_id(), static_cast<unsigned long long>(r.files),
                 static_cast<unsigned long long>(r.unsynced_bytes), static_cast<unsigned long long>(r.lost_bytes));
    if (torn_shards.fetch_add(1) + 1 == shard_count()) {
        std::_Exit(137); // the machine is off: nothing else runs, nothing is flushed
    }
}

} // namespace

void arm_test_hooks() {
    if (const char* f = std::getenv("PERCORE_KV_LOG_FAULT"); f != nullptr && *f != '\0') {
        const auto p = split(f);
        if (p.size() >= 3 && (p.size() < 5 || std::stoul(p[4]) == this_shard_id())) {
            const auto op = p[0] == "sync" ? storage::fault_op::sync : storage::fault_op::write;
            const std::uint64_t times = p.size() >= 4 ? std::stoull(p[3]) : 1;
            storage::fault_injection::fail_nth(op, std::stoull(p[1]), errno_of(p[2]), times);
        }
    }
    if (const char* c = std::getenv("PERCORE_KV_POWER_CUT"); c != nullptr && *c != '\0') {
        const auto p = split(c);
        if (p.size() >= 4) {
            storage::power_loss::arm();
            if (this_shard_id() == 0) {
                storage::power_loss::trip_at(p[0] == "sync" ? storage::fault_op::sync : storage::fault_op::write,
                                             std::stoull(p[1]));
            }
            storage::power_loss::cut_options o;
            o.mode = p[2] == "prefix"         ? storage::power_loss::tear::prefix
                     : p[2] == "random_pages" ? storage::power_loss::tear::random_pages
                                              : storage::power_loss::tear::drop;
            o.seed = std::stoull(p[3]) + this_shard_id();
            spawn(power_watch(o)).detach();
        }
    }
}

} // namespace percore::kv
