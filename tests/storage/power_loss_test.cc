// The power-loss simulation itself (storage/power_loss.hh): what survives a cut, file by file. The log's
// guarantees under it are in crash_test.cc.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/spawn.hh"
#include "storage/dma_buffer.hh"
#include "storage/fault_injection.hh"
#include "storage/file.hh"
#include "storage/power_loss.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;

namespace {

constexpr std::size_t page = 4096;

/// Powers on and disarms when a test ends, whichever way.
struct power_scope {
    power_scope() { power_loss::arm(); }
    ~power_scope() {
        power_loss::reset();
        fault_injection::reset();
    }
};

std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// `n` bytes of a letter pattern that differs per `seed`; never a zero byte.
std::string text(std::size_t n, char seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('A' + (i * 7 + static_cast<std::size_t>(seed)) % 26);
    }
    return s;
}

task<file> open_buffered(std::string path) {
    return file::open(std::move(path), open_flags::read_write | open_flags::create, {.dma = dma_mode::off});
}

task<> write(file& f, std::uint64_t at, const std::string& s) {
    co_await f.write_at(at, s.data(), s.size());
}

} // namespace

TEST_SUITE("storage/power_loss") {

    RUNTIME_TEST_CASE("what was synced survives a cut; what was written after is dropped") {
        test::tmpdir dir;
        power_scope power;
        const std::string synced = text(5000, 'a'), later = text(7000, 'b');
        file f = co_await open_buffered(dir.file("f"));
        co_await write(f, 0, synced);
        co_await f.datasync();
        co_await write(f, synced.size(), later);
        CHECK(contents(f.path()) == synced + later); // the page cache has both
        const power_loss::cut_report r = co_await power_loss::cut({.mode = power_loss::tear::drop});
        CHECK(r.files == 1);
        CHECK(r.unsynced_bytes == later.size());
        CHECK(r.lost_bytes == later.size());
        CHECK(contents(f.path()) == synced);
        co_await f.close();
    }

    RUNTIME_TEST_CASE("overwrites and truncations since the last sync are undone; keep leaves the page cache") {
        test::tmpdir dir;
        const std::string base = text(3 * page, 'c');
        for (const power_loss::tear mode : {power_loss::tear::drop, power_loss::tear::keep}) {
            CAPTURE(static_cast<int>(mode));
            power_scope power;
            file f = co_await open_buffered(dir.file(mode == power_loss::tear::drop ? "drop" : "keep"));
            co_await write(f, 0, base);
            co_await f.datasync();
            co_await write(f, 100, text(200, 'x'));   // over synced bytes
            co_await f.truncate(page + 10);           // drops synced bytes
            co_await write(f, page, text(page, 'y')); // rewrites some of them and grows again
            co_await f.allocate(0, 4 * page);         // grows with zeros
            const std::string cached = contents(f.path());
            co_await power_loss::cut({.mode = mode});
            CHECK(contents(f.path()) == (mode == power_loss::tear::drop ? base : cached));
            co_await f.close();
        }
    }

    RUNTIME_TEST_CASE("a prefix tear keeps the new content up to a point and the synced content after it") {
        test::tmpdir dir;
        const std::string synced = text(1000, 'd'), later = text(5 * page, 'e');
        bool torn_inside = false;
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            CAPTURE(seed);
            power_scope power;
            file f = co_await open_buffered(dir.file("f" + std::to_string(seed)));
            co_await write(f, 0, synced);
            co_await f.datasync();
            co_await write(f, synced.size(), later);
            co_await power_loss::cut({.mode = power_loss::tear::prefix, .seed = seed});
            const std::string after = contents(f.path());
            REQUIRE(after.size() >= synced.size());
            CHECK(after == (synced + later).substr(0, after.size()));
            torn_inside = torn_inside || (after.size() > synced.size() && after.size() < synced.size() + later.size());
            co_await f.close();
        }
        CHECK(torn_inside);
    }

    RUNTIME_TEST_CASE("a prefix tear keeps the changes in order: a write can survive the truncation that undid it") {
        test::tmpdir dir;
        const std::string synced = text(100, 'p'), undone = text(200, 'q'), last = text(50, 'r');
        bool undone_survived = false;
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            CAPTURE(seed);
            power_scope power;
            // Write-only, as the log opens its segments: the hook must not read through the caller's descriptor.
            file f = co_await file::open(dir.file("f" + std::to_string(seed)), open_flags::write | open_flags::create,
                                         {.dma = dma_mode::off});
            co_await write(f, 0, synced);
            co_await f.datasync();
            co_await write(f, 100, undone);
            co_await f.truncate(100);
            co_await write(f, 100, last);
            co_await power_loss::cut({.mode = power_loss::tear::prefix, .seed = seed});
            const std::string after = contents(f.path());
            REQUIRE(after.substr(0, 100) == synced);
            const std::string tail = after.substr(100);
            // Nothing, part of the undone write, nothing again (the truncation), or part of the last write.
            CHECK((tail == undone.substr(0, tail.size()) || tail == last.substr(0, tail.size())));
            undone_survived = undone_survived || (!tail.empty() && tail == undone.substr(0, tail.size()));
            co_await f.close();
        }
        CHECK(undone_survived); // a state the final image hides
    }

    RUNTIME_TEST_CASE("random pages lose whole pages: a lost page reads as zeros past the synced size") {
        test::tmpdir dir;
        const std::string synced = text(page + 100, 'f'), later = text(8 * page, 'g');
        const std::string full = synced + later;
        bool hole_before_data = false;
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            CAPTURE(seed);
            power_scope power;
            file f = co_await open_buffered(dir.file("f" + std::to_string(seed)));
            co_await write(f, 0, synced);
            co_await f.datasync();
            co_await write(f, synced.size(), later);
            co_await power_loss::cut({.mode = power_loss::tear::random_pages, .seed = seed});
            const std::string after = contents(f.path());
            REQUIRE(after.size() == full.size());            // the size reached the disk
            CHECK(after.substr(0, synced.size()) == synced); // the shared page keeps its synced part either way
            bool lost_one = false;
            for (std::size_t p = page; p < full.size(); p += page) {
                const std::size_t from = std::max(p, synced.size());
                const std::string got = after.substr(from, p + page - from);
                const bool kept = got == full.substr(from, p + page - from);
                const bool zero = got == std::string(got.size(), '\0');
                CHECK((kept || zero));
                hole_before_data = hole_before_data || (lost_one && kept);
                lost_one = lost_one || zero;
            }
            co_await f.close();
        }
        CHECK(hole_before_data); // the shape that recovery must not take for corruption
    }

    RUNTIME_TEST_CASE("a failed sync makes nothing durable; a later successful one does") {
        test::tmpdir dir;
        power_scope power;
        file f = co_await open_buffered(dir.file("f"));
        co_await write(f, 0, "first");
        fault_injection::fail_nth(fault_op::sync, 1, EIO);
        CHECK(co_await test::error_of(f.datasync()) == EIO);
        co_await write(f, 5, "second");
        SUBCASE("no sync after the failure") {
            co_await power_loss::cut();
            CHECK(contents(f.path()).empty());
        }
        SUBCASE("a sync after the failure") {
            co_await f.datasync();
            co_await write(f, 11, "third");
            co_await power_loss::cut();
            CHECK(contents(f.path()) == "firstsecond");
        }
        co_await f.close();
    }

    RUNTIME_TEST_CASE("after the cut every write and sync fails with EIO, including a sync in flight") {
        test::tmpdir dir;
        power_scope power;
        file f = co_await open_buffered(dir.file("f"));
        co_await write(f, 0, "synced");
        co_await f.datasync();
        co_await write(f, 6, "pending");
        int in_flight = -1;
        auto sync_task = [](file& file, int& out) -> task<> { out = co_await test::error_of(file.datasync()); };
        join_handle<void> h = spawn(sync_task(f, in_flight));
        co_await power_loss::cut();
        co_await h;
        CHECK(in_flight == EIO);
        CHECK(power_loss::power_off());
        std::string what;
        CHECK(co_await test::error_of(write(f, 13, "late"), &what) == EIO);
        CHECK(what.find("write " + f.path()) != std::string::npos);
        CHECK(co_await test::error_of(f.datasync()) == EIO);
        CHECK(co_await test::error_of(f.truncate(0)) == EIO);
        CHECK(co_await test::error_of(sync_directory(dir.path())) == EIO);
        CHECK(contents(f.path()) == "synced");
        power_loss::reset();
        co_await write(f, 6, "again");
        CHECK(contents(f.path()) == "syncedagain");
        co_await f.close();
    }

    RUNTIME_TEST_CASE("files in DMA mode are tracked and torn like buffered ones") {
        test::tmpdir dir;
        power_scope power;
        file f = co_await file::open(dir.file("dma"), open_flags::read_write | open_flags::create);
        MESSAGE("DMA mode: " << f.is_dma());
        const std::size_t block = std::max<std::size_t>(f.alignment(), page);
        dma_buffer buf(f.alignment(), 2 * block);
        const std::string first = text(block, 'h'), second = text(block, 'i');
        std::memcpy(buf.data(), first.data(), block);
        std::memcpy(buf.data() + block, second.data(), block);
        co_await f.write_at(0, buf.data(), block);
        co_await f.datasync();
        co_await f.write_at(0, buf.data() + block, block); // overwrite the synced block
        co_await f.write_at(block, buf.data(), block);
        co_await power_loss::cut();
        CHECK(contents(f.path()) == first);
        co_await f.close();
    }

    RUNTIME_TEST_CASE("trip_at turns the power off as the chosen write or sync begins") {
        test::tmpdir dir;
        power_scope power;
        file f = co_await open_buffered(dir.file("f"));
        SUBCASE("a sync: what was written before it is not durable") {
            co_await write(f, 0, "one");
            co_await f.datasync();
            co_await write(f, 3, "two");
            power_loss::trip_at(fault_op::sync, 2);
            co_await f.datasync(); // the first one after the trip_at goes through
            co_await write(f, 6, "three");
            CHECK(co_await test::error_of(f.datasync()) == EIO);
            CHECK(power_loss::power_off());
            CHECK(co_await test::error_of(write(f, 11, "four")) == EIO);
            co_await power_loss::cut();
            CHECK(contents(f.path()) == "onetwo");
        }
        SUBCASE("a write: it never starts") {
            power_loss::trip_at(fault_op::write, 2);
            co_await write(f, 0, "one");
            CHECK(co_await test::error_of(write(f, 3, "two")) == EIO);
            CHECK(power_loss::power_off());
            co_await power_loss::cut({.mode = power_loss::tear::keep});
            CHECK(contents(f.path()) == "one");
        }
        co_await f.close();
    }

} // TEST_SUITE
