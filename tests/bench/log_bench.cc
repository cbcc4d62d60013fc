// The append-only log benchmark, run by `scripts/bench log` (which interleaves rounds, runs dd, and prints
// medians). One mode per run, one shard on the calling thread; prints "RESULT <name> <value> <unit>" lines:
//
//   log_bench always   --dir=D [--seconds-ms=2000] [--appenders=64] [--size=100]
//       log_always_appends_per_s: --appenders tasks, each appending --size-byte records back to back with
//       policy `always` (group commit) for --seconds-ms; acknowledged appends per second.
//   log_bench naive    --dir=D [--seconds-ms=2000] [--appenders=64] [--size=100]
//       log_naive_appends_per_s: the same appenders on a naive log without group commit: each record is framed
//       the same way, then written with its own write and made durable with its own fdatasync (through
//       io_uring), one record after the other, as an ordered log must (a mutex hands the file to one appender at
//       a time, in FIFO order).
//       log_naive_unordered_appends_per_s (extra, no goal): the same without the mutex: up to --appenders
//       write + fdatasync pairs in flight at once, which the file system merges into shared journal commits.
//       Not a valid log: a crash can leave a hole before an acknowledged record.
//   log_bench no       --dir=D [--mb=256] [--block=1048576] [--segment-mb=64] [--in-flight=1] [--preallocate=1]
//       log_no_mb_per_s: --in-flight appenders (default one: a sequential writer) write --mb MB (1e6 bytes) as
//       records framed to exactly --block bytes each, batches sealed at --block bytes (one write of --block bytes
//       per append), policy `no`, --segment-mb segments, then sync(): the final fdatasync is included, as it is
//       in the `dd bs=1M conv=fdatasync` the script runs beside it.
//   log_bench recovery --dir=D [--mb=128] [--size=100]
//       recovery_mb_per_s: writes --mb MB of --size-byte records (policy no, then sync, close), then times
//       append_log::open replaying every record (page cache warm: parsing and checksumming, not the disk).
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "runtime/spawn.hh"
#include "runtime/sync/mutex.hh"
#include "runtime/sync_wait.hh"
#include "storage/append_log.hh"
#include "storage/file.hh"
#include "storage/record.hh"

using namespace percore;
using namespace percore::storage;

namespace {

struct options {
    std::string dir;
    double seconds = 2;
    long appenders = 64;
    long size = 100;
    long mb = 0; // 0: the mode's default
    long block = 1 << 20;
    long segment_mb = 64;
    long in_flight = 1;
    long preallocate = 1;
};

struct shared_state {
    clock_type::time_point end;
    long appends = 0;
};

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

task<> always_appender(append_log& log, std::span<const std::byte> payload, shared_state& s) {
    while (clock_type::now() < s.end) {
        co_await log.append(payload);
        ++s.appends;
    }
}

task<> run_always(options opt) {
    auto log = co_await append_log::open(opt.dir, {.policy = durability::always}, [](auto) {});
    const std::vector<std::byte> payload(static_cast<std::size_t>(opt.size), std::byte{'p'});
    shared_state s;
    const auto start = clock_type::now();
    s.end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(opt.seconds));
    std::vector<join_handle<void>> hs;
    for (long i = 0; i < opt.appenders; ++i) {
        hs.push_back(spawn(always_appender(*log, payload, s)));
    }
    for (auto& h : hs) {
        co_await h;
    }
    const double t = seconds_since(start);
    std::printf("RESULT log_always_appends_per_s %.0f appends/s\n", static_cast<double>(s.appends) / t);
    std::fprintf(stderr, "always: %ld appends, %llu batches, %llu syncs in %.2f s\n", s.appends,
                 static_cast<unsigned long long>(log->stats().batches),
                 static_cast<unsigned long long>(log->stats().syncs), t);
    co_await log->close();
}

struct naive_log {
    file f;
    std::uint64_t next_offset = 0;
    mutex order; ///< null when unordered
    bool ordered = true;
};

task<> naive_append(naive_log& log, std::span<const std::byte> record) {
    const std::uint64_t at = log.next_offset;
    log.next_offset += record.size();
    co_await log.f.write_at(at, record.data(), record.size());
    co_await log.f.datasync();
}

task<> naive_appender(naive_log& log, std::span<const std::byte> record, shared_state& s) {
    while (clock_type::now() < s.end) {
        if (log.ordered) {
            auto lock = co_await log.order.scoped_lock();
            co_await naive_append(log, record);
        } else {
            co_await naive_append(log, record);
        }
        ++s.appends;
    }
}

task<> run_naive(options opt, bool ordered) {
    co_await make_directory(opt.dir);
    naive_log log;
    log.ordered = ordered;
    log.f = co_await file::open(opt.dir + "/naive.log", open_flags::write | open_flags::create | open_flags::truncate,
                                {.dma = dma_mode::off});
    // The same preallocation the log makes (blocks reserved ahead, the size unchanged; a segment's worth covers
    // the run): the comparison isolates group commit.
    co_await log.f.allocate(0, log_options{}.segment_size, true);
    const std::vector<std::byte> payload(static_cast<std::size_t>(opt.size), std::byte{'p'});
    std::vector<std::byte> record(framed_size(payload.size()));
    encode_record(payload, record.data());
    shared_state s;
    const auto start = clock_type::now();
    s.end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(opt.seconds));
    std::vector<join_handle<void>> hs;
    for (long i = 0; i < opt.appenders; ++i) {
        hs.push_back(spawn(naive_appender(log, record, s)));
    }
    for (auto& h : hs) {
        co_await h;
    }
    const double t = seconds_since(start);
    std::printf("RESULT %s %.0f appends/s\n", ordered ? "log_naive_appends_per_s" : "log_naive_unordered_appends_per_s",
                static_cast<double>(s.appends) / t);
    co_await log.f.close();
}

task<> fill_appender(append_log& log, std::span<const std::byte> payload, long count) {
    for (long i = 0; i < count; ++i) {
        co_await log.append(payload);
    }
}

task<> run_no(options opt) {
    const long mb = opt.mb != 0 ? opt.mb : 256;
    const auto total = static_cast<std::uint64_t>(mb) * 1'000'000;
    const std::size_t payload_size = static_cast<std::size_t>(opt.block) - record_header_size;
    auto log = co_await append_log::open(opt.dir,
                                         {.policy = durability::no,
                                          .segment_size = static_cast<std::uint64_t>(opt.segment_mb) << 20,
                                          .max_record_size = payload_size,
                                          .max_batch_bytes = static_cast<std::size_t>(opt.block),
                                          .preallocate = opt.preallocate != 0},
                                         [](auto) {});
    const std::vector<std::byte> payload(payload_size, std::byte{'n'});
    const long records =
        static_cast<long>((total + static_cast<std::uint64_t>(opt.block) - 1) / static_cast<std::uint64_t>(opt.block));
    const long in_flight = std::max<long>(1, std::min(opt.in_flight, records));
    const auto start = clock_type::now();
    std::vector<join_handle<void>> hs;
    for (long i = 0; i < in_flight; ++i) {
        hs.push_back(spawn(fill_appender(*log, payload, records / in_flight + (i < records % in_flight ? 1 : 0))));
    }
    for (auto& h : hs) {
        co_await h;
    }
    co_await log->sync();
    const auto written = static_cast<std::uint64_t>(records) * static_cast<std::uint64_t>(opt.block);
    const double t = seconds_since(start);
    std::printf("RESULT log_no_mb_per_s %.1f MB/s\n", static_cast<double>(written) / 1e6 / t);
    co_await log->close();
}

task<> run_recovery(options opt) {
    const long mb = opt.mb != 0 ? opt.mb : 128;
    const std::vector<std::byte> payload(static_cast<std::size_t>(opt.size), std::byte{'r'});
    const long records = mb * 1'000'000 / static_cast<long>(framed_size(payload.size()));
    {
        auto log = co_await append_log::open(opt.dir, {.policy = durability::no}, [](auto) {});
        std::vector<join_handle<void>> hs;
        constexpr long writers = 64;
        for (long i = 0; i < writers; ++i) {
            hs.push_back(spawn(fill_appender(*log, payload, records / writers)));
        }
        for (auto& h : hs) {
            co_await h;
        }
        co_await log->close();
    }
    long replayed = 0;
    std::uint64_t bytes = 0;
    auto count = [&replayed, &bytes](std::span<const std::byte> r) {
        ++replayed;
        bytes += framed_size(r.size());
    };
    const auto start = clock_type::now();
    auto log = co_await append_log::open(opt.dir, {}, count);
    const double t = seconds_since(start);
    co_await log->close();
    std::printf("RESULT recovery_mb_per_s %.1f MB/s\n", static_cast<double>(bytes) / 1e6 / t);
    std::fprintf(stderr, "recovery: %ld records, %.1f MB in %.3f s\n", replayed, static_cast<double>(bytes) / 1e6, t);
}

bool parse_flag(std::string_view arg, std::string_view name, long& out) {
    if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=') {
        return false;
    }
    const auto v = arg.substr(name.size() + 1);
    return std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc();
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string_view mode;
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        long seconds_ms = 0;
        if (arg == "always" || arg == "naive" || arg == "naive-unordered" || arg == "no" || arg == "recovery") {
            mode = arg;
        } else if (arg.starts_with("--dir=")) {
            opt.dir = arg.substr(6);
        } else if (parse_flag(arg, "--seconds-ms", seconds_ms)) {
            opt.seconds = static_cast<double>(seconds_ms) / 1000;
        } else if (parse_flag(arg, "--appenders", opt.appenders) || parse_flag(arg, "--size", opt.size) ||
                   parse_flag(arg, "--mb", opt.mb) || parse_flag(arg, "--block", opt.block) ||
                   parse_flag(arg, "--segment-mb", opt.segment_mb) ||
                   parse_flag(arg, "--preallocate", opt.preallocate) || parse_flag(arg, "--in-flight", opt.in_flight)) {
        } else {
            mode = {};
            break;
        }
    }
    if (mode.empty() || opt.dir.empty() || opt.block <= static_cast<long>(record_header_size)) {
        std::fprintf(stderr, "usage: log_bench always|naive|naive-unordered|no|recovery --dir=DIR [--seconds-ms=N] "
                             "[--appenders=N] [--size=N] [--mb=N] [--block=N] [--segment-mb=N]\n");
        return 2;
    }
    std::error_code ec;
    std::filesystem::remove_all(opt.dir, ec); // each run starts from an empty directory
    // Commit what earlier runs freed before the clock starts: on a file system mounted with `discard`, the
    // journal commit after a large delete issues the discards, and the first fdatasync timed would wait for them.
    ::sync();
    try {
        if (mode == "always") {
            sync_wait(run_always(opt));
        } else if (mode == "naive" || mode == "naive-unordered") {
            sync_wait(run_naive(opt, mode == "naive"));
        } else if (mode == "no") {
            sync_wait(run_no(opt));
        } else {
            sync_wait(run_recovery(opt));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "log_bench %s: %s\n", std::string(mode).c_str(), e.what());
        return 1;
    }
    std::filesystem::remove_all(opt.dir, ec);
    return 0;
}
