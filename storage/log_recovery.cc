#include "storage/log_recovery.hh"

#include <string_view>
#include <vector>

namespace percore::storage {

namespace {

constexpr file_options recovery_file_options{.dma = dma_mode::off, .sync_directory = false};

std::string corruption_message(const std::string& path, const segment_scan& s, bool last_segment, segment_kind kind,
                               std::uint64_t later_bytes) {
    std::string m = path + ": " + to_string(s.bad) + " at offset " + std::to_string(s.valid_end) + " of " +
                    std::to_string(s.file_size);
    if (kind == segment_kind::snapshot) {
        m += " in the compaction snapshot (synced before it was committed)";
    } else if (!last_segment) {
        m += " in a segment that is not the last (synced before the next one was started)";
    } else {
        m += ", before offset " + std::to_string(s.durable_after_bad) + " which the sync marker at offset " +
             std::to_string(s.voucher) + " shows was durable";
    }
    m += ": corruption before the tail of the log, which was left untouched. Opening with repair keeps the " +
         std::to_string(s.valid_end) + " bytes before it and drops " +
         std::to_string(s.file_size - s.valid_end + later_bytes) + " bytes after it";
    return m;
}

task<std::uint64_t> file_size_of(std::string path) {
    file f = co_await file::open(std::move(path), open_flags::read, recovery_file_options);
    const std::uint64_t size = co_await f.size();
    co_await f.close();
    co_return size;
}

task<> cut(file& f, std::uint64_t at) {
    co_await f.truncate(at);
    co_await f.datasync();
}

} // namespace

task<recovered_log> recover_log(std::string dir, std::size_t max_payload, bool repair,
                                const record_handler& on_record) {
    recovered_log out;
    directory_entries entries = co_await list_directory(dir);
    bool removed = false;
    for (const std::string& name : entries.temporaries) {
        co_await remove_file(dir + "/" + name, false);
        ++out.report.removed_files;
        removed = true;
    }
    std::uint64_t base = 0; // sequence number of the newest snapshot, 0 when there is none
    for (const segment_id& id : entries.segments) {
        out.next_seq = std::max(out.next_seq, id.seq + 1);
        if (id.kind == segment_kind::snapshot) {
            base = std::max(base, id.seq);
        }
    }
    std::vector<segment_id> replay;
    for (const segment_id& id : entries.segments) {
        const bool is_base = id.kind == segment_kind::snapshot && id.seq == base;
        if (is_base || (id.kind == segment_kind::log && id.seq > base)) {
            replay.push_back(id);
            continue;
        }
        co_await remove_file(segment_path(dir, id), false);
        ++out.report.removed_files;
        removed = true;
    }
    if (removed) {
        co_await sync_directory(dir);
    }

    for (std::size_t i = 0; i < replay.size(); ++i) {
        const segment_id id = replay[i];
        const std::string path = segment_path(dir, id);
        file f = co_await file::open(path, open_flags::read_write, recovery_file_options);
        const std::optional<std::uint64_t> log_seq =
            id.kind == segment_kind::log ? std::optional<std::uint64_t>(id.seq) : std::nullopt;
        const segment_scan s = co_await scan_segment(f, log_seq, max_payload, on_record);
        ++out.report.segments;
        out.report.records += s.records;
        out.report.bytes += s.valid_end;
        const bool last = i + 1 == replay.size();
        if (s.bad != record_status::ok) {
            // Past the last durable point anything may be missing or torn, in any order (see the rules). An intact
            // record that is merely longer than allowed is not damage: never cut it.
            if (s.oversized != 0 && !repair) {
                co_await f.close();
                throw log_corruption_error(path + ": the record at offset " + std::to_string(s.valid_end) +
                                               " is intact but holds " + std::to_string(s.oversized) +
                                               " bytes, more than max_record_size (" + std::to_string(max_payload) +
                                               "); the log was left untouched: open it with a larger max_record_size",
                                           path, s.valid_end);
            }
            if (last && id.kind == segment_kind::log && s.durable_after_bad <= s.valid_end && s.oversized == 0) {
                co_await cut(f, s.valid_end);
                out.report.torn_tail_bytes = s.file_size - s.valid_end;
                out.report.torn_tail_records = s.records_after_bad;
                out.report.torn_tail_segment = path;
            } else if (repair) {
                co_await cut(f, s.valid_end);
                out.report.repaired_bytes += s.file_size - s.valid_end;
                for (std::size_t j = i + 1; j < replay.size(); ++j) {
                    const std::string later = segment_path(dir, replay[j]);
                    out.report.repaired_bytes += co_await file_size_of(later);
                    co_await remove_file(later, false);
                    ++out.report.removed_files;
                }
                co_await sync_directory(dir);
                replay.resize(i + 1);
            } else {
                std::uint64_t later_bytes = 0;
                for (std::size_t j = i + 1; j < replay.size(); ++j) {
                    later_bytes += co_await file_size_of(segment_path(dir, replay[j]));
                }
                co_await f.close();
                throw log_corruption_error(corruption_message(path, s, last, id.kind, later_bytes), path, s.valid_end);
            }
        }
        co_await f.close();
        if (id.kind == segment_kind::log && i + 1 == replay.size()) {
            out.tail_seq = id.seq;
            out.tail_size = s.valid_end;
        }
    }
    co_return out;
}

} // namespace percore::storage
