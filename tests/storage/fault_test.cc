#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "runtime/spawn.hh"
#include "storage/append_log.hh"
#include "storage/fault_injection.hh"
#include "storage/log_recovery.hh"
#include "storage/power_loss.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;
namespace fs = std::filesystem;
using test::numbered_range;

namespace {

struct outcome {
    int error = 0; ///< 0: acknowledged
    std::string what;
};

task<> append_one(append_log& log, std::string payload, outcome& out) {
    out.error = co_await test::error_of(log.append(test::as_bytes(payload)), &out.what);
}

/// Appends records first..first+n-1 concurrently (one batch) and reports each one's outcome.
task<std::vector<outcome>> append_batch(append_log& log, std::size_t first, std::size_t n) {
    std::vector<outcome> out(n);
    std::vector<join_handle<void>> hs;
    for (std::size_t i = 0; i < n; ++i) {
        hs.push_back(spawn(append_one(log, test::numbered(first + i), out[i])));
    }
    for (auto& h : hs) {
        co_await h;
    }
    co_return out;
}

std::uintmax_t total_size(const std::string& dir) {
    std::uintmax_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        n += e.file_size();
    }
    return n;
}

/// Disarms injected faults (and the power-loss hook) when a test ends, whichever way.
struct fault_scope {
    ~fault_scope() {
        fault_injection::reset();
        power_loss::reset();
    }
};

} // namespace

TEST_SUITE("storage/fault") {

    RUNTIME_TEST_CASE("a failed write fails every append of its batch, and the log goes on after it") {
        test::tmpdir dir;
        fault_scope faults;
        for (const fault_effect effect : {fault_effect::fail, fault_effect::partial_write}) {
            CAPTURE(static_cast<int>(effect));
            const std::string path = dir.file(effect == fault_effect::fail ? "fail" : "partial");
            test::opened_log o = co_await test::open_log(path);
            auto ok = co_await append_batch(*o.log, 0, 10);
            const std::uintmax_t size_before = total_size(path);
            fault_injection::fail_nth(fault_op::write, 1, ENOSPC, 1, effect);
            auto failed = co_await append_batch(*o.log, 10, 10);
            for (const outcome& r : failed) {
                CHECK(r.error == ENOSPC);
                CHECK(r.what.find("write " + path + "/") != std::string::npos);
            }
            CHECK(total_size(path) == size_before); // a torn write is cut off
            CHECK_FALSE(o.log->failed());
            auto later = co_await append_batch(*o.log, 20, 10);
            for (const outcome& r : later) {
                CHECK(r.error == 0);
            }
            CHECK(o.log->stats().failed_appends == 10);
            co_await o.log->close();
            std::vector<std::string> want = numbered_range(0, 10);
            for (const auto& r : numbered_range(20, 10)) {
                want.push_back(r);
            }
            test::opened_log r = co_await test::open_log(path);
            CHECK(r.replayed == want);
            CHECK(r.log->recovery().torn_tail_bytes == 0);
            co_await r.log->close();
        }
    }

    RUNTIME_TEST_CASE("a failed fdatasync fails its appends and every later one; reopening recovers the acknowledged") {
        fault_scope faults;
        for (const bool power_cut : {false, true}) {
            CAPTURE(power_cut);
            test::tmpdir dir;
            power_loss::arm(); // records what reaches the disk, for the cut below
            test::opened_log o = co_await test::open_log(dir.path());
            co_await append_batch(*o.log, 0, 5);
            fault_injection::fail_nth(fault_op::sync, 1, EIO);
            auto failed = co_await append_batch(*o.log, 5, 5);
            for (const outcome& r : failed) {
                CHECK(r.error == EIO);
                CHECK(r.what.find("fdatasync " + dir.path() + "/") != std::string::npos);
            }
            CHECK(o.log->failed());
            fault_injection::reset();
            outcome refused;
            co_await append_one(*o.log, "after the failure", refused);
            CHECK(refused.error == EIO); // not retried and trusted
            const int sync_error = co_await test::error_of(o.log->sync());
            CHECK(sync_error == EIO);
            if (power_cut) {
                co_await power_loss::cut(); // the failed fdatasync made nothing durable
            }
            co_await o.log->close(); // closing a failed log is fine: its error was reported already
            power_loss::reset();
            // The failed batch was written but never made durable: the page cache still has it after a restart
            // of the process; a power cut takes it. Nothing else may be lost, nothing else added.
            test::opened_log r = co_await test::open_log(dir.path());
            CHECK(r.replayed == numbered_range(0, power_cut ? 5 : 10));
            co_await r.log->append(test::as_bytes("fresh start"));
            co_await r.log->close();
        }
    }

    RUNTIME_TEST_CASE("a failed sync under everysec or no fails the log and reaches sync() callers") {
        test::tmpdir dir;
        fault_scope faults;
        for (const durability policy : {durability::everysec, durability::no}) {
            const std::string path = dir.file(policy == durability::no ? "no" : "everysec");
            test::opened_log o = co_await test::open_log(path, {.policy = policy});
            auto written = co_await append_batch(*o.log, 0, 5);
            for (const outcome& r : written) {
                CHECK(r.error == 0); // acknowledged at write time
            }
            fault_injection::fail_nth(fault_op::sync, 1, EIO);
            const int error = co_await test::error_of(o.log->sync());
            CHECK(error == EIO);
            CHECK(o.log->failed());
            co_await o.log->close();
            fault_injection::reset();
        }
    }

    RUNTIME_TEST_CASE("a failed sync while rotating fails the log instead of starting a segment on unsynced data") {
        test::tmpdir dir;
        fault_scope faults;
        test::opened_log o = co_await test::open_log(dir.path(), {.policy = durability::no, .segment_size = 256});
        co_await append_batch(*o.log, 0, 4); // 4 x 48 bytes
        fault_injection::fail_nth(fault_op::sync, 1, EIO);
        auto failed = co_await append_batch(*o.log, 4, 4); // would cross 256 bytes: rotation syncs first
        for (const outcome& r : failed) {
            CHECK(r.error == EIO);
        }
        CHECK(o.log->failed());
        CHECK(o.log->stats().rotations == 0);
        co_await o.log->close();
        CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
    }

    RUNTIME_TEST_CASE("a write that failed halfway is cut off durably before the log moves to the next segment") {
        fault_scope faults;
        std::vector<std::string> want = numbered_range(0, 2);
        for (const auto& r : numbered_range(3, 4)) {
            want.push_back(r);
        }
        for (const power_loss::tear mode :
             {power_loss::tear::drop, power_loss::tear::prefix, power_loss::tear::random_pages}) {
            for (std::uint64_t seed = 1; seed <= 6; ++seed) {
                CAPTURE(static_cast<int>(mode));
                CAPTURE(seed);
                test::tmpdir dir;
                power_loss::arm();
                test::opened_log o =
                    co_await test::open_log(dir.path(), {.policy = durability::no, .segment_size = 300});
                co_await append_batch(*o.log, 0, 2); // 132 bytes with its sync marker
                co_await o.log->sync();
                fault_injection::fail_nth(fault_op::write, 1, ENOSPC, 1, fault_effect::partial_write);
                for (const outcome& r : co_await append_batch(*o.log, 2, 1)) {
                    CHECK(r.error == ENOSPC); // half of it reached the file, then it was truncated off
                }
                for (const outcome& r : co_await append_batch(*o.log, 3, 4)) { // too big: a new segment starts
                    CHECK_MESSAGE(r.error == 0, r.what);
                }
                CHECK(o.log->stats().rotations == 1);
                co_await o.log->sync();
                // What was not synced may be lost, in part or in any order: the truncation too, unless synced.
                co_await power_loss::cut({.mode = mode, .seed = seed});
                co_await o.log->close();
                power_loss::reset();
                std::string refused;
                try {
                    CHECK(co_await test::replay(dir.path()) == want);
                } catch (const log_corruption_error& e) {
                    refused = e.what();
                }
                CHECK_MESSAGE(refused.empty(), refused);
            }
        }
    }

    RUNTIME_TEST_CASE("a failed write of the compaction snapshot leaves the log as it was") {
        test::tmpdir dir;
        fault_scope faults;
        test::opened_log o = co_await test::open_log(dir.path());
        co_await append_batch(*o.log, 0, 5);
        log_compaction c = co_await o.log->begin_compaction();
        co_await c.add(test::as_bytes("state"));
        fault_injection::fail_nth(fault_op::sync, 1, ENOSPC);
        const int error = co_await test::error_of(c.commit());
        CHECK(error == ENOSPC);
        fault_injection::reset();
        co_await append_batch(*o.log, 5, 5);
        co_await o.log->close();
        for (const auto& e : fs::directory_iterator(dir.path())) {
            CHECK(e.path().extension() == ".log");
        }
        CHECK(co_await test::replay(dir.path()) == numbered_range(0, 10));
    }

} // TEST_SUITE
