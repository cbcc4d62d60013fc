#include "storage/segment.hh"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <dirent.h>
#include <memory>

#include "runtime/blocking.hh"
#include "runtime/preempt.hh"
#include "storage/file_stream.hh"
#include "storage/sync_marker.hh"

namespace percore::storage {

namespace {

constexpr std::string_view log_suffix = ".log";
constexpr std::string_view snapshot_suffix = ".snap";
constexpr std::size_t seq_digits = 16;
constexpr std::size_t scan_chunk = 1 << 20;
/// How many payload bytes the search after a bad record may checksum to count the intact data records there
/// (sync markers, 28 bytes each, are always checked: they decide torn tail or corruption).
constexpr std::uint64_t resync_budget = 64 << 20;

struct listing_result {
    directory_entries entries;
    int error = 0;
};

listing_result read_directory(const std::string& dir) {
    listing_result out;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
    if (!d) {
        out.error = errno;
        return out;
    }
    errno = 0;
    while (const dirent* e = ::readdir(d.get())) {
        const std::string_view name(e->d_name);
        if (name.ends_with(temporary_suffix)) {
            out.entries.temporaries.emplace_back(name);
        } else if (auto id = parse_segment_name(name)) {
            out.entries.segments.push_back(*id);
        }
    }
    out.error = errno;
    std::sort(out.entries.segments.begin(), out.entries.segments.end(),
              [](const segment_id& a, const segment_id& b) { return a.seq < b.seq; });
    return out;
}

/// A sync marker of segment `log_seq` that belongs at `pos`.
bool is_marker_at(const decoded_record& d, std::optional<std::uint64_t> log_seq, std::uint64_t pos) noexcept {
    if (d.kind != record_kind::control || !log_seq) {
        return false;
    }
    const std::optional<sync_marker> m = parse_sync_marker(d.payload);
    return m && m->segment == *log_seq && m->offset == pos;
}

/// Everything after the bad record at s.valid_end: intact records, and what the intact markers vouch for.
task<> scan_after_damage(file& f, std::optional<std::uint64_t> log_seq, std::size_t max_payload, segment_scan& s) {
    const std::uint64_t start = s.valid_end + 1;
    file_reader r(f, start, scan_chunk);
    std::uint64_t budget = resync_budget;
    for (std::uint64_t pos = start; pos + record_header_size <= s.file_size;) {
        if (r.available().size() < record_header_size) {
            co_await r.fill(record_header_size);
        }
        decoded_record d = decode_record(r.available(), max_payload);
        if (d.status == record_status::short_payload && pos + framed_size(d.length) <= s.file_size) {
            // Control records are small: always checked. Data records cost their length, within the budget.
            const bool check = d.kind == record_kind::control || budget >= d.length;
            if (check) {
                budget -= d.kind == record_kind::control ? 0 : d.length;
                co_await r.fill(framed_size(d.length));
                d = decode_record(r.available(), max_payload);
            }
        }
        if (d.status == record_status::ok && (d.kind == record_kind::data || is_marker_at(d, log_seq, pos))) {
            if (d.kind == record_kind::data) {
                ++s.records_after_bad;
            } else if (const std::uint64_t synced = parse_sync_marker(d.payload)->synced;
                       synced > s.durable_after_bad) {
                s.durable_after_bad = synced;
                s.voucher = pos;
            }
            r.consume(d.size); // records follow each other: no need to look inside this one
            pos += d.size;
            continue;
        }
        if (r.available().empty()) {
            break;
        }
        r.consume(1);
        ++pos;
        if ((pos & 0xfff) == 0) {
            co_await maybe_yield(); // a byte-by-byte search over a whole segment must not hold the shard
        }
    }
}

} // namespace

std::string segment_file_name(segment_id id) {
    char digits[seq_digits + 1];
    std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(id.seq));
    std::string name(digits);
    name += id.kind == segment_kind::log ? log_suffix : snapshot_suffix;
    return name;
}

std::string segment_path(std::string_view dir, segment_id id) {
    std::string p(dir);
    p += '/';
    p += segment_file_name(id);
    return p;
}

std::optional<segment_id> parse_segment_name(std::string_view name) {
    segment_id id;
    if (name.ends_with(log_suffix)) {
        name.remove_suffix(log_suffix.size());
        id.kind = segment_kind::log;
    } else if (name.ends_with(snapshot_suffix)) {
        name.remove_suffix(snapshot_suffix.size());
        id.kind = segment_kind::snapshot;
    } else {
        return std::nullopt;
    }
    if (name.size() != seq_digits) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id.seq, 16);
    if (ec != std::errc() || end != name.data() + name.size()) {
        return std::nullopt;
    }
    return id;
}

task<directory_entries> list_directory(std::string dir) {
    auto job = [dir] { return read_directory(dir); };
    listing_result r = co_await spawn_blocking(job);
    if (r.error != 0) {
        throw_file_error(r.error, "list directory", dir);
    }
    co_return std::move(r.entries);
}

task<segment_scan> scan_segment(file& f, std::optional<std::uint64_t> log_seq, std::size_t max_payload,
                                const record_handler& on_record) {
    segment_scan s;
    s.file_size = co_await f.size();
    file_reader r(f, 0, scan_chunk);
    for (;;) {
        if (r.available().size() < record_header_size) {
            co_await r.fill(record_header_size);
        }
        if (r.available().empty()) {
            break;
        }
        decoded_record d = decode_record(r.available(), max_payload);
        // A record running past the end of the file cannot be whole: no need to read (and allocate) that far.
        if (d.status == record_status::short_payload && !r.eof() &&
            r.position() + framed_size(d.length) <= s.file_size) {
            co_await r.fill(framed_size(d.length));
            d = decode_record(r.available(), max_payload);
        }
        if (d.status == record_status::ok && d.kind == record_kind::control &&
            !is_marker_at(d, log_seq, r.position())) {
            d.status = record_status::bad_control;
        }
        if (d.status == record_status::too_long && d.kind == record_kind::data &&
            r.position() + framed_size(d.length) <= s.file_size) {
            // Damage, or a record written when max_record_size was larger? Only its checksum can tell.
            co_await r.fill(framed_size(d.length));
            s.oversized = decode_record(r.available(), d.length).status == record_status::ok ? d.length : 0;
        }
        if (d.status != record_status::ok) {
            s.bad = d.status;
            break;
        }
        if (d.kind == record_kind::data) {
            on_record(d.payload);
            ++s.records;
        }
        r.consume(d.size);
        // Replaying a large log takes seconds: let connections, timers and the stall detector see progress.
        co_await maybe_yield();
    }
    s.valid_end = r.position();
    if (s.bad != record_status::ok) {
        co_await scan_after_damage(f, log_seq, max_payload, s);
    }
    co_return s;
}

} // namespace percore::storage
