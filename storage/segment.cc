#include "storage/segment.hh"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <dirent.h>
#include <memory>

#include "runtime/blocking.hh"
#include "storage/file_stream.hh"

namespace percore::storage {

namespace {

constexpr std::string_view log_suffix = ".log";
constexpr std::string_view snapshot_suffix = ".snap";
constexpr std::size_t seq_digits = 16;
constexpr std::size_t scan_chunk = 1 << 20;
/// How many payload bytes the search for a valid record after a bad one may checksum before it gives up and
/// assumes there is one (refusing to call the damage a torn tail is the safe answer).
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

task<bool> valid_record_after(file& f, std::uint64_t bad_at, std::uint64_t file_size, std::size_t max_payload) {
    file_reader r(f, bad_at + 1, scan_chunk);
    std::uint64_t budget = resync_budget;
    for (std::uint64_t pos = bad_at + 1; pos + record_header_size <= file_size; ++pos, r.consume(1)) {
        if (r.available().size() < record_header_size) {
            co_await r.fill(record_header_size);
        }
        decoded_record d = decode_record(r.available(), max_payload);
        if (d.status == record_status::short_payload && pos + framed_size(d.length) <= file_size) {
            if (budget < d.length) {
                co_return true;
            }
            budget -= d.length;
            co_await r.fill(framed_size(d.length));
            d = decode_record(r.available(), max_payload);
        }
        if (d.status == record_status::ok) {
            co_return true;
        }
        if (r.available().empty()) {
            break;
        }
    }
    co_return false;
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

task<segment_scan> scan_segment(file& f, std::size_t max_payload, const record_handler& on_record) {
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
        if (d.status == record_status::short_payload && !r.eof()) {
            co_await r.fill(framed_size(d.length));
            d = decode_record(r.available(), max_payload);
        }
        if (d.status != record_status::ok) {
            s.bad = d.status;
            break;
        }
        on_record(d.payload);
        ++s.records;
        r.consume(d.size);
    }
    s.valid_end = r.position();
    if (s.bad != record_status::ok) {
        s.valid_record_after_bad = co_await valid_record_after(f, s.valid_end, s.file_size, max_payload);
    }
    co_return s;
}

} // namespace percore::storage
