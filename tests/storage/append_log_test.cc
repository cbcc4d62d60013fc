#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/metrics/registry.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "storage/append_log.hh"
#include "storage/record.hh"
#include "storage/segment.hh"
#include "storage/sync_marker.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;
using namespace std::chrono_literals;
using test::files_in;
using test::numbered_range;

namespace {

task<> append_numbered(append_log& log, std::size_t first, std::size_t count, std::size_t step) {
    for (std::size_t i = 0; i < count; ++i) {
        co_await log.append(test::as_bytes(test::numbered(first + i * step)));
    }
}

struct marker_at {
    std::uint64_t offset;
    std::uint64_t synced;
    bool operator==(const marker_at&) const = default;
};

/// The sync markers of a segment file, in order; checks that each one names its segment and place.
std::vector<marker_at> markers_of(const std::string& path, std::uint64_t seq) {
    std::ifstream in(path, std::ios::binary);
    const std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(s.data()), s.size());
    std::vector<marker_at> out;
    for (std::size_t at = 0; at < bytes.size();) {
        const decoded_record r = decode_record(bytes.subspan(at), 1 << 20);
        REQUIRE(r.status == record_status::ok);
        if (r.kind == record_kind::control) {
            const auto m = parse_sync_marker(r.payload);
            REQUIRE(m.has_value());
            CHECK(m->segment == seq);
            CHECK(m->offset == at);
            out.push_back({m->offset, m->synced});
        }
        at += r.size;
    }
    return out;
}

} // namespace

TEST_SUITE("storage/append_log") {

    RUNTIME_TEST_CASE("the log's metrics count what it did: appends, batch writes, bytes and fdatasyncs") {
        test::tmpdir dir;
        constexpr std::uint64_t batch = sync_marker_size + framed_size(40);
        test::opened_log o = co_await test::open_log(dir.path());
        co_await append_numbered(*o.log, 0, 3, 1); // one at a time under `always`: three batches, three syncs
        const metrics::shard_snapshot s = metrics::local_registry().snapshot();
        co_await o.log->close();
        auto value = [&](const std::string& name) {
            for (const auto& f : s.families) {
                if (f.name == name && f.series.size() == 1 && f.series[0].labels.size() == 1 &&
                    f.series[0].labels[0] == std::pair<std::string, std::string>{"log", dir.path()}) {
                    return f.series[0].value;
                }
            }
            return -1.0;
        };
        CHECK(value("percore_storage_log_appends_total") == 3);
        CHECK(value("percore_storage_log_writes_total") == 3);
        CHECK(value("percore_storage_log_written_bytes_total") == 3 * batch);
        CHECK(value("percore_storage_log_fdatasyncs_total") == 3);
        CHECK(value("percore_storage_log_failed_appends_total") == 0);
    }

    RUNTIME_TEST_CASE("every batch starts with a sync marker saying what the last completed fdatasync covered") {
        test::tmpdir dir;
        constexpr std::uint64_t batch = sync_marker_size + framed_size(40); // a marker and one numbered record
        const std::string seg = dir.path() + "/" + segment_file_name({1, segment_kind::log});
        SUBCASE("always: each batch vouches for every byte before it") {
            test::opened_log o = co_await test::open_log(dir.path());
            co_await append_numbered(*o.log, 0, 3, 1);
            co_await o.log->close();
            CHECK(markers_of(seg, 1) == std::vector<marker_at>{{0, 0}, {batch, batch}, {2 * batch, 2 * batch}});
        }
        SUBCASE("no: the markers lag until a sync completes, and a reopened log starts from its synced tail") {
            test::opened_log o = co_await test::open_log(dir.path(), {.policy = durability::no});
            co_await append_numbered(*o.log, 0, 3, 1);
            co_await o.log->sync();
            co_await append_numbered(*o.log, 3, 2, 1);
            co_await o.log->close();
            test::opened_log again = co_await test::open_log(dir.path(), {.policy = durability::no});
            co_await append_numbered(*again.log, 5, 1, 1);
            co_await again.log->close();
            CHECK(markers_of(seg, 1) == std::vector<marker_at>{{0, 0},
                                                               {batch, 0},
                                                               {2 * batch, 0},
                                                               {3 * batch, 3 * batch},
                                                               {4 * batch, 3 * batch},
                                                               {5 * batch, 5 * batch}});
        }
        SUBCASE("a new segment starts from nothing synced") {
            test::opened_log o = co_await test::open_log(dir.path(), {.segment_size = 2 * batch});
            co_await append_numbered(*o.log, 0, 3, 1);
            co_await o.log->close();
            CHECK(markers_of(seg, 1) == std::vector<marker_at>{{0, 0}, {batch, batch}});
            CHECK(markers_of(dir.path() + "/" + segment_file_name({2, segment_kind::log}), 2) ==
                  std::vector<marker_at>{{0, 0}});
        }
    }

    RUNTIME_TEST_CASE("appended records are replayed in order after reopening") {
        test::tmpdir dir;
        const std::string path = dir.file("log");
        {
            test::opened_log o = co_await test::open_log(path);
            CHECK(o.replayed.empty());
            co_await o.log->append(test::as_bytes(""));
            co_await append_numbered(*o.log, 0, 100, 1);
            co_await o.log->append(test::as_bytes(std::string(100'000, 'L')));
            co_await o.log->close();
        }
        test::opened_log o = co_await test::open_log(path);
        REQUIRE(o.replayed.size() == 102);
        CHECK(o.replayed.front().empty());
        CHECK(std::equal(o.replayed.begin() + 1, o.replayed.begin() + 101, numbered_range(0, 100).begin()));
        CHECK(o.replayed.back() == std::string(100'000, 'L'));
        CHECK(o.log->recovery().records == 102);
        CHECK(o.log->recovery().torn_tail_bytes == 0);
        co_await o.log->append(test::as_bytes("after reopen"));
        co_await o.log->close();
        const auto again = co_await test::replay(path);
        CHECK(again.size() == 103);
        CHECK(again.back() == "after reopen");
    }

    RUNTIME_TEST_CASE("the appends of one reactor pass share one write and one fdatasync") {
        test::tmpdir dir;
        test::opened_log o = co_await test::open_log(dir.path());
        std::vector<join_handle<void>> appenders;
        for (std::size_t i = 0; i < 50; ++i) {
            appenders.push_back(spawn(append_numbered(*o.log, i, 1, 1)));
        }
        for (auto& h : appenders) {
            co_await h;
        }
        CHECK(o.log->stats().appends == 50);
        CHECK(o.log->stats().batches == 1);
        CHECK(o.log->stats().syncs == 1);
        co_await o.log->close();
        CHECK(co_await test::replay(dir.path()) == numbered_range(0, 50));
    }

    RUNTIME_TEST_CASE("concurrent appenders are group-committed and each one's records stay in its order") {
        test::tmpdir dir;
        test::opened_log o = co_await test::open_log(dir.path());
        constexpr std::size_t writers = 16, each = 40;
        std::vector<join_handle<void>> appenders;
        for (std::size_t w = 0; w < writers; ++w) {
            appenders.push_back(spawn(append_numbered(*o.log, w, each, writers)));
        }
        for (auto& h : appenders) {
            co_await h;
        }
        const log_stats st = o.log->stats();
        CHECK(st.appends == writers * each);
        CHECK(st.syncs <= st.appends / 8); // a sync covers the records of many appenders
        co_await o.log->close();
        const auto records = co_await test::replay(dir.path());
        // Writer w appended w, w + writers, w + 2 * writers... in that order; the rounds interleave but within a
        // writer waits for its previous record before the next, so the log holds record k before record k + writers.
        REQUIRE(records.size() == writers * each);
        std::vector<std::size_t> position(writers * each);
        for (std::size_t i = 0; i < records.size(); ++i) {
            const std::size_t n = std::stoul(records[i].substr(7));
            position[n] = i;
        }
        for (std::size_t n = writers; n < position.size(); ++n) {
            CHECK(position[n - writers] < position[n]);
        }
    }

    RUNTIME_TEST_CASE("a full segment is followed by a new one and replay crosses them in order") {
        test::tmpdir dir;
        const log_options opts{.segment_size = 4096};
        test::opened_log o = co_await test::open_log(dir.path(), opts);
        co_await append_numbered(*o.log, 0, 300, 1);
        CHECK(o.log->stats().rotations >= 3); // 300 x 48 bytes over 4 KiB segments
        co_await o.log->close();
        const auto names = files_in(dir.path());
        CHECK(names.size() == o.log->stats().rotations + 1);
        for (const auto& n : names) {
            CHECK(std::filesystem::file_size(dir.path() + "/" + n) <= 4096);
        }
        CHECK(co_await test::replay(dir.path(), opts) == numbered_range(0, 300));
    }

    RUNTIME_TEST_CASE("a full batch is sealed and the records keep the order of the calls") {
        test::tmpdir dir;
        const log_options opts{.max_batch_bytes = 200}; // sealed by its fifth 48-byte record
        test::opened_log o = co_await test::open_log(dir.path(), opts);
        std::vector<join_handle<void>> appenders;
        for (std::size_t i = 0; i < 40; ++i) {
            appenders.push_back(spawn(append_numbered(*o.log, i, 1, 1)));
        }
        for (auto& h : appenders) {
            co_await h;
        }
        CHECK(o.log->stats().batches == 8);
        co_await o.log->close();
        CHECK(co_await test::replay(dir.path(), opts) == numbered_range(0, 40));
    }

    RUNTIME_TEST_CASE("records larger than a batch still go out whole, one batch each") {
        test::tmpdir dir;
        const log_options opts{.max_batch_bytes = 1000};
        test::opened_log o = co_await test::open_log(dir.path(), opts);
        std::vector<join_handle<void>> appenders;
        for (std::size_t i = 0; i < 8; ++i) {
            appenders.push_back(spawn(append_numbered(*o.log, i, 1, 1)));
        }
        co_await o.log->append(test::as_bytes(std::string(5000, 'b')));
        for (auto& h : appenders) {
            co_await h;
        }
        bool refused = false;
        try {
            co_await o.log->append(test::as_bytes(std::string(o.log->options().max_record_size + 1, 'x')));
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        CHECK(refused);
        co_await o.log->close();
        const auto records = co_await test::replay(dir.path(), opts);
        CHECK(records.size() == 9);
    }

    RUNTIME_TEST_CASE("compaction replaces the old segments by the snapshot; later appends follow it") {
        test::tmpdir dir;
        const log_options opts{.segment_size = 2048};
        test::opened_log o = co_await test::open_log(dir.path(), opts);
        co_await append_numbered(*o.log, 0, 100, 1);
        log_compaction c = co_await o.log->begin_compaction();
        co_await append_numbered(*o.log, 1000, 5, 1); // after the cut: goes after the snapshot
        co_await c.add(test::as_bytes("state-a"));
        co_await c.add(test::as_bytes("state-b"));
        co_await c.commit();
        co_await append_numbered(*o.log, 2000, 5, 1);
        CHECK(o.log->stats().compactions == 1);
        co_await o.log->close();
        const auto names = files_in(dir.path());
        REQUIRE(!names.empty());
        CHECK(names.front().ends_with(".snap"));
        CHECK(std::count_if(names.begin(), names.end(), [](const std::string& n) { return n.ends_with(".snap"); }) ==
              1);
        std::vector<std::string> want{"state-a", "state-b"};
        for (const auto& r : numbered_range(1000, 5)) {
            want.push_back(r);
        }
        for (const auto& r : numbered_range(2000, 5)) {
            want.push_back(r);
        }
        CHECK(co_await test::replay(dir.path(), opts) == want);

        // A second compaction supersedes the first snapshot.
        test::opened_log again = co_await test::open_log(dir.path(), opts);
        log_compaction c2 = co_await again.log->begin_compaction();
        co_await c2.add(test::as_bytes("state-c"));
        co_await c2.commit();
        co_await again.log->close();
        CHECK(co_await test::replay(dir.path(), opts) == std::vector<std::string>{"state-c"});
    }

    RUNTIME_TEST_CASE("an abandoned compaction leaves every record in place") {
        test::tmpdir dir;
        test::opened_log o = co_await test::open_log(dir.path());
        co_await append_numbered(*o.log, 0, 10, 1);
        log_compaction c = co_await o.log->begin_compaction();
        co_await c.add(test::as_bytes("partial state"));
        co_await c.abandon();
        co_await append_numbered(*o.log, 10, 10, 1);
        co_await o.log->close();
        for (const auto& n : files_in(dir.path())) {
            CHECK(n.ends_with(".log"));
        }
        CHECK(co_await test::replay(dir.path()) == numbered_range(0, 20));
    }

    RUNTIME_TEST_CASE("a compaction that crashed before its rename is rolled back, one that crashed after it is kept") {
        test::tmpdir dir;
        const std::string log_dir = dir.file("log");
        test::opened_log o = co_await test::open_log(log_dir);
        co_await append_numbered(*o.log, 0, 10, 1);
        co_await o.log->close();
        const std::string old_name = files_in(log_dir).front();
        const std::string old_segment = log_dir + "/" + old_name;
        std::filesystem::copy_file(old_segment, dir.file("saved"));

        std::vector<std::string> want;    // what recovery must replay
        std::string leftover;             // the file it must remove
        std::vector<std::string> remains; // the files it must keep
        SUBCASE("before: only the temporary file was written") {
            test::opened_log p = co_await test::open_log(log_dir);
            log_compaction c = co_await p.log->begin_compaction();
            co_await c.add(test::as_bytes("never committed"));
            co_await c.add(test::as_bytes("never committed either"));
            co_await p.log->close();
            // c is dropped without commit: its ".snap.tmp" stays, as after a crash
            want = numbered_range(0, 10);
            leftover = segment_file_name({2, segment_kind::snapshot}) + ".tmp";
            remains = {old_name, segment_file_name({3, segment_kind::log})};
        }
        SUBCASE("after: the snapshot was renamed, the old segments not yet removed") {
            test::opened_log p = co_await test::open_log(log_dir);
            log_compaction c = co_await p.log->begin_compaction();
            co_await c.add(test::as_bytes("snapshot"));
            co_await c.commit();
            co_await p.log->close();
            std::filesystem::copy_file(dir.file("saved"), old_segment); // as if the crash came before the removal
            want = {"snapshot"};
            leftover = old_name;
            remains = {segment_file_name({2, segment_kind::snapshot}), segment_file_name({3, segment_kind::log})};
        }
        REQUIRE(std::filesystem::exists(log_dir + "/" + leftover));
        test::opened_log r = co_await test::open_log(log_dir);
        CHECK(r.replayed == want);
        CHECK(r.log->recovery().removed_files == 1);
        co_await r.log->close();
        CHECK(files_in(log_dir) == remains);
    }

    RUNTIME_TEST_CASE("everysec acknowledges at write time and syncs within the interval") {
        test::tmpdir dir;
        test::opened_log o =
            co_await test::open_log(dir.path(), {.policy = durability::everysec, .sync_interval = 20ms});
        co_await append_numbered(*o.log, 0, 10, 1);
        CHECK(o.log->stats().appends == 10);
        for (int i = 0; i < 500 && o.log->stats().syncs == 0; ++i) {
            co_await sleep_for(10ms);
        }
        CHECK(o.log->stats().syncs >= 1);
        const auto syncs = o.log->stats().syncs;
        co_await sleep_for(100ms);
        CHECK(o.log->stats().syncs == syncs); // nothing new written: no sync
        co_await o.log->close();
        CHECK(co_await test::replay(dir.path()) == numbered_range(0, 10));
    }

    RUNTIME_TEST_CASE("policy no syncs only when asked, and close syncs what is left") {
        test::tmpdir dir;
        test::opened_log o = co_await test::open_log(dir.path(), {.policy = durability::no});
        co_await append_numbered(*o.log, 0, 10, 1);
        CHECK(o.log->stats().syncs == 0);
        co_await o.log->sync();
        CHECK(o.log->stats().syncs == 1);
        co_await o.log->sync();
        CHECK(o.log->stats().syncs == 1);
        co_await append_numbered(*o.log, 10, 1, 1);
        co_await o.log->close();
        CHECK(o.log->stats().syncs == 2);
        bool refused = false;
        try {
            co_await o.log->append(test::as_bytes("late"));
        } catch (const std::logic_error&) {
            refused = true;
        }
        CHECK(refused);
        CHECK(co_await test::replay(dir.path()) == numbered_range(0, 11));
    }

} // TEST_SUITE
