#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "storage/append_log.hh"
#include "storage/log_recovery.hh"
#include "storage/record.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t record_size = 40; // test::numbered's default payload
constexpr std::size_t framed = framed_size(record_size);

task<> write_log(std::string dir, std::size_t records, log_options opts = {}) {
    test::opened_log o = co_await test::open_log(std::move(dir), opts);
    for (std::size_t i = 0; i < records; ++i) {
        co_await o.log->append(test::as_bytes(test::numbered(i)));
    }
    co_await o.log->close();
}

/// Full paths of the files in a log directory, oldest segment first.
std::vector<std::string> segments_of(const std::string& dir) {
    std::vector<std::string> v = test::files_in(dir);
    for (auto& name : v) {
        name = dir + "/" + name;
    }
    return v;
}

void append_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

/// Overwrites [at, at + len) with `bytes` repeated, or with random bytes when `bytes` is empty.
void overwrite(const std::string& path, std::uintmax_t at, std::size_t len,
               const std::string& bytes = std::string(1, '\0')) {
    std::string fill(len, '\0');
    std::mt19937 rng(static_cast<unsigned>(at));
    for (std::size_t i = 0; i < len; ++i) {
        fill[i] = bytes.empty() ? static_cast<char>(rng()) : bytes[i % bytes.size()];
    }
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(fill.data(), static_cast<std::streamsize>(len));
}

std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Where record i's frame starts in the file (found by its payload, which is unique: the tests do not depend on
/// what else the log writes between records).
std::uintmax_t offset_of(const std::string& file_bytes, std::size_t i) {
    const auto at = file_bytes.find(test::numbered(i));
    REQUIRE(at != std::string::npos);
    return at - record_header_size;
}

/// How many of the records 0, 1, ... lie entirely before `damage` (what a recovery that cuts there keeps).
std::size_t records_before(const std::string& file_bytes, std::uintmax_t damage) {
    std::size_t n = 0;
    while (file_bytes.find(test::numbered(n)) != std::string::npos && offset_of(file_bytes, n) + framed <= damage) {
        ++n;
    }
    return n;
}

task<> append_range(append_log& log, std::size_t first, std::size_t count) {
    for (std::size_t i = first; i < first + count; ++i) {
        co_await log.append(test::as_bytes(test::numbered(i)));
    }
}

/// Three runs of records under `policy`: [0, 200) then sync, [200, 400) then sync, [400, 600) never synced (the
/// close at the end syncs it, but the tests damage it as if the power had gone before).
task<> write_synced_runs(std::string dir, durability policy) {
    test::opened_log o =
        co_await test::open_log(std::move(dir), {.policy = policy, .sync_interval = std::chrono::hours(1)});
    co_await append_range(*o.log, 0, 200);
    co_await o.log->sync();
    co_await append_range(*o.log, 200, 200);
    co_await o.log->sync();
    co_await append_range(*o.log, 400, 200);
    co_await o.log->close();
}

void flip_byte(const std::string& path, std::uintmax_t at) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x10));
}

} // namespace

TEST_SUITE("storage/recovery") {

    RUNTIME_TEST_CASE("every shape of torn tail is cut off, reported, and the log goes on") {
        test::tmpdir dir;
        co_await write_log(dir.path(), 10);
        const std::string seg = segments_of(dir.path()).front();
        const std::string before = contents(seg);
        const std::uintmax_t last = offset_of(before, 9); // the last record's frame
        REQUIRE(before.size() == last + framed);
        std::size_t keep = 10;    // records that survive
        std::uintmax_t extra = 0; // bytes past them that must be dropped
        SUBCASE("cut inside the length") {
            fs::resize_file(seg, last + 2);
            keep = 9;
            extra = 2;
        }
        SUBCASE("cut inside the checksum") {
            fs::resize_file(seg, last + 6);
            keep = 9;
            extra = 6;
        }
        SUBCASE("cut inside the payload") {
            fs::resize_file(seg, last + record_header_size + 17);
            keep = 9;
            extra = record_header_size + 17;
        }
        SUBCASE("cut right after a header") {
            fs::resize_file(seg, last + record_header_size);
            keep = 9;
            extra = record_header_size;
        }
        SUBCASE("random garbage appended") {
            std::mt19937 rng(11);
            std::string junk(1000, '\0');
            for (auto& c : junk) {
                c = static_cast<char>(rng());
            }
            append_bytes(seg, junk);
            extra = junk.size();
        }
        SUBCASE("zeros appended (a preallocated or unwritten extent)") {
            append_bytes(seg, std::string(4096, '\0'));
            extra = 4096;
        }
        SUBCASE("the last record's payload damaged") {
            flip_byte(seg, last + record_header_size + 3);
            keep = 9;
            extra = framed;
        }
        test::opened_log o = co_await test::open_log(dir.path());
        CHECK(o.replayed == test::numbered_range(0, keep));
        CHECK(o.log->recovery().torn_tail_bytes == extra);
        CHECK(o.log->recovery().torn_tail_records == 0);
        CHECK(o.log->recovery().torn_tail_segment == seg);
        CHECK(fs::file_size(seg) == (keep == 10 ? before.size() : last));
        co_await o.log->append(test::as_bytes(test::numbered(keep)));
        co_await o.log->close();
        test::opened_log again = co_await test::open_log(dir.path());
        CHECK(again.replayed == test::numbered_range(0, keep + 1));
        CHECK(again.log->recovery().torn_tail_bytes == 0);
        co_await again.log->close();
    }

    RUNTIME_TEST_CASE("damage followed by intact records is refused, and repair keeps the valid prefix") {
        test::tmpdir dir;
        co_await write_log(dir.path(), 10);
        const std::string seg = segments_of(dir.path()).front();
        const std::string before = contents(seg);
        flip_byte(seg, offset_of(before, 3) + record_header_size + 5); // record 3 of 10
        std::string what;
        std::uint64_t offset = 0;
        try {
            co_await test::open_log(dir.path());
        } catch (const log_corruption_error& e) {
            what = e.what();
            offset = e.offset();
            CHECK(e.path() == seg);
        }
        CHECK(offset == offset_of(before, 3));
        CHECK(what.find(seg) != std::string::npos);
        CHECK(what.find("bad checksum") != std::string::npos);
        CHECK(what.find("sync marker") != std::string::npos);
        CHECK(what.find("repair") != std::string::npos);
        CHECK(fs::file_size(seg) == before.size()); // refused: nothing was changed

        test::opened_log o = co_await test::open_log(dir.path(), {.repair = true});
        CHECK(o.replayed == test::numbered_range(0, 3));
        CHECK(o.log->recovery().repaired_bytes == before.size() - offset_of(before, 3));
        CHECK(o.log->recovery().torn_tail_bytes == 0);
        co_await o.log->close();
        CHECK(co_await test::replay(dir.path()) == test::numbered_range(0, 3));
    }

    RUNTIME_TEST_CASE("damage in an earlier segment is refused; repair drops every later segment") {
        test::tmpdir dir;
        const log_options opts{.segment_size = 1024};
        co_await write_log(dir.path(), 100, opts);
        const auto segs = segments_of(dir.path());
        REQUIRE(segs.size() >= 3);
        const std::uintmax_t first_size = fs::file_size(segs[0]);
        const std::size_t kept = records_before(contents(segs[0]), first_size - 3);
        fs::resize_file(segs[0], first_size - 3); // even a "torn" shape is corruption when it is not the tail
        bool refused = false;
        try {
            co_await test::open_log(dir.path(), opts);
        } catch (const log_corruption_error& e) {
            refused = true;
            CHECK(std::string(e.what()).find("not the last") != std::string::npos);
        }
        CHECK(refused);

        log_options repair = opts;
        repair.repair = true;
        test::opened_log o = co_await test::open_log(dir.path(), repair);
        CHECK(o.replayed == test::numbered_range(0, kept));
        CHECK(o.log->recovery().removed_files == segs.size() - 1);
        co_await o.log->close();
        CHECK(segments_of(dir.path()).size() == 1);
    }

    RUNTIME_TEST_CASE("a damaged snapshot is refused even when it is the only segment") {
        test::tmpdir dir;
        {
            test::opened_log o = co_await test::open_log(dir.path());
            log_compaction c = co_await o.log->begin_compaction();
            co_await c.add(test::as_bytes("state-1"));
            co_await c.add(test::as_bytes("state-2"));
            co_await c.commit();
            co_await o.log->close();
        }
        std::string snap;
        for (const auto& s : segments_of(dir.path())) {
            if (s.ends_with(".snap")) {
                snap = s;
            } else {
                fs::remove(s); // the (empty) segment after it
            }
        }
        REQUIRE(!snap.empty());
        fs::resize_file(snap, fs::file_size(snap) - 1);
        bool refused = false;
        try {
            co_await test::open_log(dir.path());
        } catch (const log_corruption_error& e) {
            refused = true;
            CHECK(std::string(e.what()).find("snapshot") != std::string::npos);
        }
        CHECK(refused);
    }

    RUNTIME_TEST_CASE("records that straddle the reader's chunks replay intact, and a tear in a large one is cut") {
        test::tmpdir dir;
        std::vector<std::string> records;
        {
            test::opened_log o = co_await test::open_log(dir.path());
            for (std::size_t i = 0; i < 40; ++i) { // ~4 MB: the scan reads 1 MiB at a time
                records.push_back(test::numbered(i, 50'000 + i * 1'111));
                co_await o.log->append(test::as_bytes(records.back()));
            }
            co_await o.log->close();
        }
        const std::string seg = segments_of(dir.path()).front();
        const std::uintmax_t full = fs::file_size(seg);
        fs::resize_file(seg, full - 20'000); // inside the last record's payload
        test::opened_log o = co_await test::open_log(dir.path());
        records.pop_back();
        CHECK(o.replayed == records);
        CHECK(o.log->recovery().torn_tail_bytes == framed_size(50'000 + 39 * 1'111) - 20'000);
        co_await o.log->close();
    }

    // Issue 10: pages of unsynced writes reach the disk in any order (writeback, preallocated extents reading as
    // zeros until written), so after a power cut a hole can be followed by intact records. That is a torn tail
    // when it lies after the last durable point, and must not stop the log from opening.
    RUNTIME_TEST_CASE(
        "issue 10: after a power cut, damage after the last sync is a torn tail even with intact records after it") {
        struct shape {
            const char* name;
            /// Damages the file (its bytes given); returns the damaged range.
            std::function<std::pair<std::uintmax_t, std::uintmax_t>(const std::string& seg, const std::string& bytes,
                                                                    std::uintmax_t page)>
                apply;
        };
        const shape shapes[] = {
            {"a page that never reached the disk reads as zeros, the pages after it did",
             [](const std::string& seg, const std::string&, std::uintmax_t page) {
                 overwrite(seg, page, 4096);
                 return std::pair(page, page + 4096);
             }},
            {"two pages lost, the last ones written",
             [](const std::string& seg, const std::string&, std::uintmax_t page) {
                 overwrite(seg, page, 2 * 4096);
                 return std::pair(page, page + 2 * 4096);
             }},
            {"a page of stale garbage",
             [](const std::string& seg, const std::string&, std::uintmax_t page) {
                 overwrite(seg, page, 4096, "");
                 return std::pair(page, page + 4096);
             }},
            {"a sector torn inside a record",
             [](const std::string& seg, const std::string& bytes, std::uintmax_t) {
                 const std::uintmax_t at = offset_of(bytes, 450) + 20;
                 overwrite(seg, at, 512);
                 return std::pair(at, at + 512);
             }},
            {"the classic torn tail: a prefix of the last writes",
             [](const std::string& seg, const std::string&, std::uintmax_t page) {
                 fs::resize_file(seg, page + 100);
                 return std::pair(page + 100, page + 100);
             }},
        };
        for (const durability policy : {durability::everysec, durability::no}) {
            for (const shape& sh : shapes) {
                CAPTURE(static_cast<int>(policy));
                const std::string name = sh.name;
                CAPTURE(name);
                test::tmpdir dir;
                co_await write_synced_runs(dir.path(), policy);
                const std::string seg = segments_of(dir.path()).front();
                const std::string before = contents(seg);
                const std::uintmax_t unsynced = offset_of(before, 400) + framed;
                const std::uintmax_t page = (unsynced / 4096 + 1) * 4096; // a page wholly after the last sync
                REQUIRE(page + 2 * 4096 < before.size());
                const auto [damage, damage_end] = sh.apply(seg, before, page);
                const std::uintmax_t damaged_size = fs::file_size(seg);
                const std::size_t keep = records_before(before, damage);
                REQUIRE(keep >= 400);
                std::size_t intact_after = 0;
                for (std::size_t i = keep; i < 600; ++i) {
                    const std::uintmax_t at = offset_of(before, i);
                    intact_after += at >= damage_end && at + framed <= damaged_size ? 1 : 0;
                }
                test::opened_log o;
                std::string refused;
                try {
                    o = co_await test::open_log(dir.path());
                } catch (const log_corruption_error& e) {
                    refused = e.what();
                }
                CHECK_MESSAGE(refused.empty(), refused);
                if (!refused.empty()) {
                    continue;
                }
                CHECK(o.replayed == test::numbered_range(0, keep));
                CHECK(o.log->recovery().torn_tail_segment == seg);
                CHECK(o.log->recovery().torn_tail_bytes == damaged_size - fs::file_size(seg));
                CHECK(o.log->recovery().torn_tail_records == intact_after);
                CHECK(fs::file_size(seg) <= damage);
                co_await o.log->append(test::as_bytes("after the cut"));
                co_await o.log->close();
                test::opened_log again = co_await test::open_log(dir.path());
                std::vector<std::string> want = test::numbered_range(0, keep);
                want.emplace_back("after the cut");
                CHECK(again.replayed == want);
                CHECK(again.log->recovery().torn_tail_bytes == 0);
                co_await again.log->close();
            }
        }
    }

    RUNTIME_TEST_CASE(
        "issue 10: damage before the last sync is refused whatever its shape, and repair keeps what precedes it") {
        struct shape {
            const char* name;
            std::function<std::uintmax_t(const std::string& seg, const std::string& bytes)> apply;
        };
        const shape shapes[] = {
            {"a zeroed page in the first synced run",
             [](const std::string& seg, const std::string& bytes) {
                 const std::uintmax_t page = (offset_of(bytes, 50) / 4096 + 1) * 4096;
                 overwrite(seg, page, 4096);
                 return page;
             }},
            {"a zeroed page in the second synced run",
             [](const std::string& seg, const std::string& bytes) {
                 const std::uintmax_t page = (offset_of(bytes, 250) / 4096 + 1) * 4096;
                 overwrite(seg, page, 4096);
                 return page;
             }},
            {"one flipped bit in the last synced record",
             [](const std::string& seg, const std::string& bytes) {
                 const std::uintmax_t at = offset_of(bytes, 399) + record_header_size + 5;
                 flip_byte(seg, at);
                 return at;
             }},
        };
        for (const durability policy : {durability::everysec, durability::no}) {
            for (const shape& sh : shapes) {
                CAPTURE(static_cast<int>(policy));
                const std::string name = sh.name;
                CAPTURE(name);
                test::tmpdir dir;
                co_await write_synced_runs(dir.path(), policy);
                const std::string seg = segments_of(dir.path()).front();
                const std::string before = contents(seg);
                const std::uintmax_t damage = sh.apply(seg, before);
                const std::string damaged = contents(seg);
                const std::size_t keep = records_before(before, damage);
                REQUIRE(keep < 400);
                std::uint64_t offset = 0;
                bool refused = false;
                try {
                    co_await test::open_log(dir.path());
                } catch (const log_corruption_error& e) {
                    refused = true;
                    offset = e.offset();
                }
                CHECK(refused);
                CHECK(offset <= damage);
                CHECK(offset >= offset_of(before, keep - 1) + framed);
                CHECK(contents(seg) == damaged); // refused: nothing was cut
                test::opened_log o = co_await test::open_log(dir.path(), {.repair = true});
                CHECK(o.replayed == test::numbered_range(0, keep));
                co_await o.log->close();
            }
        }
    }

    RUNTIME_TEST_CASE(
        "issue 10: under always, a hole in the unacknowledged last batch is cut; damage before it is refused") {
        test::tmpdir dir;
        {
            test::opened_log o = co_await test::open_log(dir.path());
            co_await append_range(*o.log, 0, 20); // twenty batches, each acknowledged after its fdatasync
            std::vector<join_handle<void>> last;
            for (std::size_t i = 20; i < 220; ++i) { // one batch of 200 records over several pages
                last.push_back(spawn(append_range(*o.log, i, 1)));
            }
            for (auto& h : last) {
                co_await h;
            }
            CHECK(o.log->stats().batches == 21);
            co_await o.log->close();
        }
        const std::string seg = segments_of(dir.path()).front();
        const std::string before = contents(seg);
        SUBCASE("a page of the last batch lost, later ones present: torn") {
            const std::uintmax_t page = (offset_of(before, 40) / 4096 + 1) * 4096;
            REQUIRE(page + 4096 < offset_of(before, 219));
            overwrite(seg, page, 4096);
            const std::size_t keep = records_before(before, page);
            const std::uintmax_t damaged_size = fs::file_size(seg);
            test::opened_log o;
            std::string refused;
            try {
                o = co_await test::open_log(dir.path());
            } catch (const log_corruption_error& e) {
                refused = e.what();
            }
            REQUIRE_MESSAGE(refused.empty(), refused);
            CHECK(o.replayed == test::numbered_range(0, keep));
            CHECK(o.log->recovery().torn_tail_bytes == damaged_size - fs::file_size(seg));
            CHECK(o.log->recovery().torn_tail_records > 0); // the records after the hole went with it
            co_await o.log->close();
        }
        SUBCASE("the last acknowledged record damaged: refused") {
            flip_byte(seg, offset_of(before, 19) + record_header_size + 1);
            bool refused = false;
            try {
                co_await test::open_log(dir.path());
            } catch (const log_corruption_error& e) {
                refused = true;
                CHECK(e.offset() == offset_of(before, 19));
            }
            CHECK(refused);
        }
    }

    RUNTIME_TEST_CASE("a log written before sync markers opens; damage in its last segment counts as a torn tail") {
        test::tmpdir dir;
        // Format 1: records only. Its durable point is unknown, so recovery cannot call damage in the last
        // segment corruption; it cuts there and reports, as after a power cut.
        std::string bytes;
        for (std::size_t i = 0; i < 100; ++i) {
            const std::string p = test::numbered(i);
            std::string frame(framed_size(p.size()), '\0');
            encode_record(test::as_bytes(p), reinterpret_cast<std::byte*>(frame.data()));
            bytes += frame;
        }
        const std::string seg = dir.path() + "/" + segment_file_name({1, segment_kind::log});
        append_bytes(seg, bytes);
        CHECK(co_await test::replay(dir.path()) == test::numbered_range(0, 100));
        flip_byte(seg, offset_of(bytes, 60) + record_header_size + 1);
        test::opened_log o = co_await test::open_log(dir.path());
        CHECK(o.replayed == test::numbered_range(0, 60));
        CHECK(o.log->recovery().torn_tail_records == 39);
        co_await o.log->append(test::as_bytes(test::numbered(60)));
        co_await o.log->close();
        CHECK(co_await test::replay(dir.path()) == test::numbered_range(0, 61));
    }

    RUNTIME_TEST_CASE("an intact record longer than max_record_size is refused wherever it is, never cut") {
        test::tmpdir dir;
        {
            test::opened_log o = co_await test::open_log(dir.path(), {.policy = durability::no});
            co_await o.log->append(test::as_bytes(test::numbered(0)));
            co_await o.log->append(test::as_bytes(std::string(5000, 'L'))); // no sync: no marker vouches for it
            co_await o.log->append(test::as_bytes(test::numbered(1)));
            co_await o.log->close();
        }
        const std::string seg = segments_of(dir.path()).front();
        const auto size = fs::file_size(seg);
        std::string what;
        try {
            co_await test::open_log(dir.path(), {.max_record_size = 1000});
        } catch (const log_corruption_error& e) {
            what = e.what();
        }
        CHECK(what.find("max_record_size") != std::string::npos);
        CHECK(fs::file_size(seg) == size); // untouched
        CHECK(co_await test::replay(dir.path()) ==
              std::vector<std::string>{test::numbered(0), std::string(5000, 'L'), test::numbered(1)});
    }

    RUNTIME_TEST_CASE("a damaged length running past the file's end is damage, not a 512 MiB read") {
        // With a large max_record_size (percore-kv's logs take 1 GiB records), a length word damaged into a big
        // number must not make the reader allocate and zero that much before finding the file too short.
        test::tmpdir dir;
        {
            test::opened_log o = co_await test::open_log(dir.path(), {.max_record_size = std::size_t{1} << 30});
            for (std::size_t i = 0; i < 40; ++i) { // 2.6 MiB: the damage is not in the reader's last chunk
                co_await o.log->append(test::as_bytes(test::numbered(i) + std::string(64 * 1024, 'p')));
            }
            co_await o.log->close();
        }
        const std::string seg = segments_of(dir.path()).front();
        const std::string before = contents(seg);
        overwrite(seg, offset_of(before, 2), 4, std::string("\x00\x00\x00\x20", 4)); // record 2: 512 MiB
        const long peak_before = test::peak_rss_kib();
        bool refused = false;
        try {
            co_await recover_log(dir.path(), std::size_t{1} << 30, false, [](std::span<const std::byte>) {});
        } catch (const log_corruption_error&) {
            refused = true; // intact records follow the damage
        }
        CHECK(refused);
        CHECK(test::peak_rss_kib() - peak_before < 128 * 1024);
    }

    RUNTIME_TEST_CASE("recovery yields between records: a long replay does not hold the shard") {
        // 40 small records sit in one read chunk, so no I/O separates them: only a preemption point between
        // records lets another task (a connection, a timer, the stall detector's idea of progress) run.
        test::tmpdir dir;
        co_await write_log(dir.path(), 40);
        bool done = false;
        std::uint64_t ticks = 0;
        auto other = spawn([&]() -> task<> {
            while (!done) {
                ++ticks;
                co_await yield();
            }
        });
        std::uint64_t last_ticks = 0;
        std::size_t records = 0;
        std::size_t longest_run = 0; // consecutive records replayed while `other` never ran
        std::size_t run = 0;
        bool gave_up = false;
        auto slow = [&](std::span<const std::byte>) {
            // Each record takes its whole time slice (bounded, should preemption never come).
            const auto give_up = clock_type::now() + std::chrono::seconds(2);
            while (!need_preempt() && !gave_up) {
                gave_up = clock_type::now() > give_up;
            }
            run = ticks == last_ticks ? run + 1 : 1;
            last_ticks = ticks;
            longest_run = std::max(longest_run, run);
            ++records;
        };
        co_await recover_log(dir.path(), 1 << 20, false, slow);
        done = true;
        co_await std::move(other);
        CHECK(records == 40);
        CHECK_FALSE(gave_up);
        CHECK(longest_run <= 2);
    }

    RUNTIME_TEST_CASE("recovery reports what it replayed") {
        test::tmpdir dir;
        co_await write_log(dir.path(), 25, {.segment_size = 512});
        std::size_t seen = 0;
        auto count = [&seen](std::span<const std::byte>) { ++seen; };
        recovered_log r = co_await recover_log(dir.path(), 1 << 20, false, count);
        CHECK(seen == 25);
        CHECK(r.report.records == 25);
        std::uintmax_t total = 0;
        for (const auto& seg : segments_of(dir.path())) {
            total += fs::file_size(seg);
        }
        CHECK(r.report.bytes == total); // records and their sync markers
        CHECK(r.report.segments == segments_of(dir.path()).size());
        REQUIRE(r.tail_seq.has_value());
        CHECK(r.next_seq == *r.tail_seq + 1);
    }

} // TEST_SUITE
