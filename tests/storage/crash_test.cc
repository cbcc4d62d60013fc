// The crash tests.
//
// SIGKILL: a child process appends with policy `always` and reports every acknowledged record over a
// pipe; the parent kills it with SIGKILL at a random moment, reopens the log, and checks that every acknowledged
// record is there, in order, intact. The child is this test binary itself, exec'd to run only the "crash child"
// case (a fresh process: no inherited reactor or blocking-pool threads), and it resumes the log the previous
// round left, so each round also recovers from the previous kill. A kill keeps the page cache: this shows
// ordering, acknowledgement and recovery, not that anything reached the disk.
//
// Power cut (storage/power_loss.hh): appenders run in this process; after a chosen number of acknowledgements
// the power goes off, and every file is rewritten to what was synced plus a torn part of the rest (dropped, a
// prefix, or random pages). Then recovery must open the log and hold every record that was durable: under
// `always` every acknowledged one, under `everysec` and `no` every one appended before a sync() that returned.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <random>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "runtime/spawn.hh"
#include "runtime/sync/condition_variable.hh"
#include "storage/append_log.hh"
#include "storage/power_loss.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;

namespace {

constexpr int ack_fd = 100; // the pipe's write end in the child
constexpr const char* child_case = "crash child: appends until killed";
constexpr int rounds = 24;

/// Record `seq`'s payload: its number and a body derived from it, 20..400 bytes, so tears land everywhere.
std::string payload(std::uint64_t seq) {
    std::string s = "seq:" + std::to_string(seq) + ":";
    const std::size_t size = 20 + (seq * 37) % 380;
    while (s.size() < size) {
        s.push_back(static_cast<char>('A' + (s.size() + seq) % 51));
    }
    return s;
}

log_options crash_log_options() {
    return {.policy = durability::always, .segment_size = 32 * 1024};
}

task<> child_appender(append_log& log, std::uint64_t& next) {
    for (;;) {
        const std::uint64_t seq = next++;
        co_await log.append(test::as_bytes(payload(seq))); // copied into the batch before any suspension
        // Acknowledged: tell the parent. A blocking write is fine in this throw-away process.
        if (::write(ack_fd, &seq, sizeof seq) != sizeof seq) {
            std::_Exit(3);
        }
    }
}

task<> child_main(std::string dir) {
    test::opened_log o = co_await test::open_log(std::move(dir), crash_log_options());
    std::uint64_t next = o.replayed.size() + 1;
    std::vector<join_handle<void>> appenders;
    for (int i = 0; i < 8; ++i) {
        appenders.push_back(spawn(child_appender(*o.log, next)));
    }
    for (auto& h : appenders) {
        co_await h; // forever: the parent kills us
    }
}

struct verdict {
    std::uint64_t records = 0;
    std::uint64_t torn_bytes = 0; ///< what recovery cut off the tail
    std::string problem;          ///< empty when every record is in order and intact
};

task<verdict> verify(std::string dir) {
    test::opened_log o = co_await test::open_log(std::move(dir), crash_log_options());
    verdict v;
    v.records = o.replayed.size();
    v.torn_bytes = o.log->recovery().torn_tail_bytes;
    for (std::size_t i = 0; i < o.replayed.size() && v.problem.empty(); ++i) {
        if (o.replayed[i] != payload(i + 1)) {
            v.problem = "record " + std::to_string(i) + " is not seq " + std::to_string(i + 1) + ": " +
                        o.replayed[i].substr(0, 40);
        }
    }
    co_await o.log->close();
    co_return v;
}

struct round_result {
    std::uint64_t max_acked = 0;
    std::uint64_t acks = 0;
};

/// Starts the child, kills it `kill_after` after its first acknowledgement (or after the start when
/// `before_first_ack`), and collects every acknowledgement it wrote.
round_result run_round(const std::string& dir, std::chrono::milliseconds kill_after, bool before_first_ack) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    std::string self(4096, '\0');
    const ssize_t n = ::readlink("/proc/self/exe", self.data(), self.size());
    REQUIRE(n > 0);
    self.resize(static_cast<std::size_t>(n));
    const std::string filter = std::string("--test-case=") + child_case;
    const std::string env_dir = "PERCORE_CRASH_CHILD_DIR=" + dir;
    std::vector<char*> argv{self.data(), const_cast<char*>(filter.c_str()), nullptr};
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
        envp.push_back(*e);
    }
    envp.push_back(const_cast<char*>(env_dir.c_str()));
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) { // only async-signal-safe calls until exec
        if (::dup2(fds[1], ack_fd) < 0) {
            ::_exit(126);
        }
        ::execve(self.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    round_result r;
    auto deadline = std::chrono::steady_clock::now() + (before_first_ack ? kill_after : std::chrono::seconds(30));
    bool killed = false;
    std::uint64_t buf[512];
    std::size_t partial = 0; // bytes of an acknowledgement split across reads
    auto* bytes = reinterpret_cast<char*>(buf);
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (!killed && left.count() <= 0) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int pr = ::poll(&p, 1, killed ? -1 : static_cast<int>(std::max<long>(left.count(), 0)));
        if (pr <= 0) {
            continue;
        }
        const ssize_t got = ::read(fds[0], bytes + partial, sizeof buf - partial);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break; // end of file: the child is gone
        }
        const std::size_t total = partial + static_cast<std::size_t>(got);
        const std::size_t whole = total / sizeof(std::uint64_t);
        for (std::size_t i = 0; i < whole; ++i) {
            r.max_acked = std::max(r.max_acked, buf[i]);
        }
        if (r.acks == 0 && whole > 0 && !before_first_ack) {
            deadline = std::chrono::steady_clock::now() + kill_after;
        }
        r.acks += whole;
        partial = total % sizeof(std::uint64_t);
        std::memmove(bytes, bytes + whole * sizeof(std::uint64_t), partial);
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    CHECK_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL), "the child ended on its own: status ", status);
    return r;
}

// --- power cuts ---

/// What the appenders of one power-cut round saw.
struct power_state {
    std::uint64_t next = 1;  ///< sequence number of the next append
    std::uint64_t last = 0;  ///< appends stop after this one (a round whose trip never came ends there)
    std::uint64_t acked = 0; ///< acknowledgements in this round
    std::uint64_t max_acked = 0;
    std::uint64_t durable = 0; ///< every record up to here was covered by a sync() that returned
    unsigned running = 0;      ///< appenders still appending
    condition_variable progress;
};

task<> power_appender(append_log& log, power_state& st) {
    while (st.next <= st.last) {
        const std::uint64_t seq = st.next++;
        const int error = co_await test::error_of(log.append(test::as_bytes(payload(seq))));
        if (error != 0) {
            break; // EIO: the power went off (or the log failed because of it)
        }
        ++st.acked;
        st.max_acked = std::max(st.max_acked, seq);
        st.progress.broadcast();
    }
    --st.running;
    st.progress.broadcast();
}

/// everysec and no: a sync() every few acknowledgements; what it covered is durable once it returns.
task<> power_syncer(append_log& log, power_state& st, std::uint64_t every) {
    for (;;) {
        const std::uint64_t before = st.acked;
        co_await st.progress.wait([&] { return st.running == 0 || st.acked >= before + every; });
        if (st.running == 0) {
            co_return;
        }
        const std::uint64_t covered = st.next - 1; // every append called so far is in a batch
        const int error = co_await test::error_of(log.sync());
        if (error != 0) {
            co_return;
        }
        st.durable = std::max(st.durable, covered);
    }
}

log_options power_log_options(durability policy) {
    return {.policy = policy, .segment_size = 32 * 1024, .sync_interval = std::chrono::milliseconds(5)};
}

struct power_verdict {
    std::uint64_t records = 0;
    recovery_report report;
    std::string problem; ///< empty when the log opened and holds 1..records in order, intact
};

task<power_verdict> power_verify(std::string dir, durability policy) {
    power_verdict v;
    test::opened_log o;
    try {
        o = co_await test::open_log(std::move(dir), power_log_options(policy));
    } catch (const log_corruption_error& e) {
        v.problem = std::string("recovery refused the log: ") + e.what();
    }
    if (!v.problem.empty()) {
        co_return v;
    }
    v.records = o.replayed.size();
    v.report = o.log->recovery();
    for (std::size_t i = 0; i < o.replayed.size() && v.problem.empty(); ++i) {
        if (o.replayed[i] != payload(i + 1)) {
            v.problem = "record " + std::to_string(i) + " is not seq " + std::to_string(i + 1);
        }
    }
    co_await o.log->close();
    co_return v;
}

struct power_outcome {
    std::uint64_t next = 1;
    std::uint64_t acked = 0;
    std::uint64_t max_acked = 0;
    std::uint64_t durable = 0;
};

/// One round: the power goes off as the `trip`-th operation of kind `op` begins (in recovery, in the middle of
/// appending, during a rotation...); appends (and, but under always, syncs) run until then; then the files are
/// torn by `cut`.
task<power_outcome> power_round(std::string dir, durability policy, std::uint64_t first, fault_op op,
                                std::uint64_t trip, power_loss::cut_options cut) {
    power_loss::arm();
    power_loss::trip_at(op, trip);
    power_state st;
    st.next = first;
    st.last = first + 4000;
    test::opened_log o;
    const int open_error = co_await test::error_of([](std::string d, durability p, test::opened_log& out) -> task<> {
        out = co_await test::open_log(std::move(d), power_log_options(p));
    }(dir, policy, o));
    if (open_error == 0) {
        std::vector<join_handle<void>> tasks;
        for (int i = 0; i < 8; ++i) {
            ++st.running;
            tasks.push_back(spawn(power_appender(*o.log, st)));
        }
        if (policy != durability::always) {
            tasks.push_back(spawn(power_syncer(*o.log, st, 1 + trip % 40)));
        }
        for (auto& t : tasks) {
            co_await t;
        }
    }
    co_await power_loss::cut(cut); // if the trip never came: the power goes off now, between two batches
    if (o.log) {
        co_await test::error_of(o.log->close()); // EIO: nothing more reaches the disk
    }
    power_loss::reset();
    co_return power_outcome{.next = st.next, .acked = st.acked, .max_acked = st.max_acked, .durable = st.durable};
}

task<> power_cut_rounds(durability policy, int count, std::uint64_t rng_seed) {
    test::tmpdir tmp;
    const std::string dir = tmp.file("log");
    std::mt19937_64 rng(rng_seed);
    std::uint64_t records = 0; // what the last recovery replayed
    std::uint64_t acked = 0, torn = 0, torn_with_records_after = 0;
    for (int round = 0; round < count; ++round) {
        CAPTURE(round);
        const auto mode = static_cast<power_loss::tear>(round % 3); // drop, prefix, random_pages
        // Mostly syncs: the writes before a sync that never completed are what a power cut tears.
        const fault_op op = rng() % 4 == 0 ? fault_op::write : fault_op::sync;
        const std::uint64_t trip = 1 + rng() % 80;
        CAPTURE(static_cast<int>(op));
        CAPTURE(trip);
        const power_outcome st =
            co_await power_round(dir, policy, records + 1, op, trip, {.mode = mode, .seed = rng()});
        acked += st.acked;
        const power_verdict v = co_await power_verify(dir, policy);
        CHECK_MESSAGE(v.problem.empty(), v.problem);
        if (!v.problem.empty()) {
            co_return;
        }
        const std::uint64_t must = std::max(records, policy == durability::always ? st.max_acked : st.durable);
        CHECK_MESSAGE(v.records >= must, "durable up to seq ", must, " but only ", v.records, " records survived");
        CHECK(v.records < st.next); // nothing that was never appended
        torn += v.report.torn_tail_bytes != 0 ? 1 : 0;
        torn_with_records_after += v.report.torn_tail_records != 0 ? 1 : 0;
        records = v.records;
    }
    CHECK(acked > 0);
    MESSAGE(count << " power cuts, " << acked << " acknowledged appends, " << records << " records, " << torn
                  << " torn tails cut, " << torn_with_records_after << " of them with intact records after the damage");
}

std::uint64_t power_seed() {
    std::uint64_t seed = 20261206;
    if (const char* s = std::getenv("PERCORE_POWER_SEED")) {
        seed = std::strtoull(s, nullptr, 10);
    }
    MESSAGE("PERCORE_POWER_SEED=" << seed);
    return seed;
}

} // namespace

TEST_SUITE("storage/crash") {

    TEST_CASE("crash child: appends until killed") {
        const char* dir = std::getenv("PERCORE_CRASH_CHILD_DIR");
        if (dir == nullptr) {
            return; // run directly: nothing to do (the parent case below starts it)
        }
        sync_wait(child_main(dir), test::reactor_config_for_tests());
        std::_Exit(2); // child_main never returns
    }

    TEST_CASE("every acknowledged record survives SIGKILL at random moments, in order and intact") {
        test::tmpdir tmp;
        const std::string dir = tmp.file("log");
        std::uint64_t seed = 20261124;
        if (const char* s = std::getenv("PERCORE_CRASH_SEED")) {
            seed = std::strtoull(s, nullptr, 10);
        }
        MESSAGE("PERCORE_CRASH_SEED=" << seed);
        std::mt19937_64 rng(seed);
        std::uint64_t acked = 0; // highest acknowledged sequence number so far
        std::uint64_t total_acks = 0;
        int torn_rounds = 0;
        for (int round = 0; round < rounds; ++round) {
            CAPTURE(round);
            // Every fourth round dies early, possibly during recovery or the first batch.
            const bool early = round % 4 == 3;
            const auto after = std::chrono::milliseconds(early ? rng() % 30 : 5 + rng() % 60);
            const round_result r = run_round(dir, after, early);
            acked = std::max(acked, r.max_acked);
            total_acks += r.acks;
            const verdict v = sync_wait(verify(dir), test::reactor_config_for_tests());
            torn_rounds += v.torn_bytes != 0 ? 1 : 0;
            CHECK_MESSAGE(v.problem.empty(), v.problem);
            CHECK_MESSAGE(v.records >= acked, "acknowledged up to ", acked, " but only ", v.records,
                          " records survived");
            if (!v.problem.empty() || v.records < acked) {
                break;
            }
        }
        CHECK(total_acks > 0);
        MESSAGE(rounds << " rounds, " << total_acks << " acknowledged appends, " << acked << " records, " << torn_rounds
                       << " torn tails cut");
    }

    RUNTIME_TEST_CASE("under always, every acknowledged record survives power cuts at random moments") {
        co_await power_cut_rounds(durability::always, 30, power_seed());
    }

    RUNTIME_TEST_CASE("under everysec and no, every record synced before a power cut survives it and the log opens") {
        co_await power_cut_rounds(durability::everysec, 30, power_seed() + 1);
        co_await power_cut_rounds(durability::no, 30, power_seed() + 2);
    }

} // TEST_SUITE
