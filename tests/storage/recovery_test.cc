#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

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
        REQUIRE(fs::file_size(seg) == 10 * framed);
        std::size_t keep = 10;    // records that survive
        std::uintmax_t extra = 0; // bytes past them that must be dropped
        SUBCASE("cut inside the length") {
            fs::resize_file(seg, 9 * framed + 2);
            keep = 9;
            extra = 2;
        }
        SUBCASE("cut inside the checksum") {
            fs::resize_file(seg, 9 * framed + 6);
            keep = 9;
            extra = 6;
        }
        SUBCASE("cut inside the payload") {
            fs::resize_file(seg, 9 * framed + record_header_size + 17);
            keep = 9;
            extra = record_header_size + 17;
        }
        SUBCASE("cut right after a header") {
            fs::resize_file(seg, 9 * framed + record_header_size);
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
            flip_byte(seg, 9 * framed + record_header_size + 3);
            keep = 9;
            extra = framed;
        }
        test::opened_log o = co_await test::open_log(dir.path());
        CHECK(o.replayed == test::numbered_range(0, keep));
        CHECK(o.log->recovery().torn_tail_bytes == extra);
        CHECK(o.log->recovery().torn_tail_segment == seg);
        CHECK(fs::file_size(seg) == keep * framed);
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
        flip_byte(seg, 3 * framed + record_header_size + 5); // record 3 of 10
        std::string what;
        std::uint64_t offset = 0;
        try {
            co_await test::open_log(dir.path());
        } catch (const log_corruption_error& e) {
            what = e.what();
            offset = e.offset();
            CHECK(e.path() == seg);
        }
        CHECK(offset == 3 * framed);
        CHECK(what.find(seg) != std::string::npos);
        CHECK(what.find("bad checksum") != std::string::npos);
        CHECK(what.find("repair") != std::string::npos);
        CHECK(fs::file_size(seg) == 10 * framed); // refused: nothing was changed

        test::opened_log o = co_await test::open_log(dir.path(), {.repair = true});
        CHECK(o.replayed == test::numbered_range(0, 3));
        CHECK(o.log->recovery().repaired_bytes == 7 * framed);
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
        const std::size_t kept = (first_size - 3) / framed;
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

    RUNTIME_TEST_CASE("recovery reports what it replayed") {
        test::tmpdir dir;
        co_await write_log(dir.path(), 25, {.segment_size = 512});
        std::size_t seen = 0;
        auto count = [&seen](std::span<const std::byte>) { ++seen; };
        recovered_log r = co_await recover_log(dir.path(), 1 << 20, false, count);
        CHECK(seen == 25);
        CHECK(r.report.records == 25);
        CHECK(r.report.bytes == 25 * framed);
        CHECK(r.report.segments == segments_of(dir.path()).size());
        REQUIRE(r.tail_seq.has_value());
        CHECK(r.next_seq == *r.tail_seq + 1);
    }

} // TEST_SUITE
