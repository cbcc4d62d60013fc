#include "storage/power_loss.hh"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "runtime/defer.hh"
#include "runtime/sync/condition_variable.hh"
#include "storage/detail/power_loss_hooks.hh"
#include "storage/dma_buffer.hh" // align_down
#include "storage/file.hh"

namespace percore::storage {

namespace {

using detail::change_kind;

/// One write or resize since the file's last sync, with what it replaced (its undo).
struct pending_change {
    std::int64_t id = 0;
    change_kind kind = change_kind::write;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint64_t size_before = 0;
    std::vector<std::byte> old;   ///< the bytes it replaced, from `offset` (those below size_before)
    std::vector<std::byte> bytes; ///< a write's own bytes
    std::int64_t done = 0;        ///< the tick at which it completed; 0 while in flight
};

struct shard_state {
    std::map<std::string, std::vector<pending_change>> files; ///< by path, oldest change first
    std::int64_t next_id = 1;
    std::int64_t tick = 0;
    unsigned in_flight = 0;         ///< changes and syncs between their begin and end hooks
    int tearing_fd = -1;            ///< the cut's own writes, exempt from the power switch
    std::uint64_t seen[2] = {0, 0}; ///< operations begun, by fault_op, since trip_at()
    std::uint64_t trip[2] = {0, 0}; ///< the power goes off as operation number trip[op] begins (0: never)
    condition_variable idle;
};

// The switch is process-wide so that one cut stops every shard at the same instant (a multi-shard test must not
// see a shard acknowledge after another lost power); the only atomic of storage/, and a test hook's.
std::atomic<bool> g_power_off{false};
thread_local std::unique_ptr<shard_state> tl_state; // touched only while armed

/// Counts an operation of kind `op`; turns the power off when it is the one trip_at() named. \return power_is_off()
bool count(shard_state& st, fault_op op) noexcept {
    const auto i = static_cast<unsigned>(op);
    if (++st.seen[i] == st.trip[i]) {
        g_power_off.store(true, std::memory_order_relaxed);
    }
    return g_power_off.load(std::memory_order_relaxed);
}

void leave(shard_state& st) noexcept {
    if (--st.in_flight == 0) {
        st.idle.broadcast();
    }
}

/// Bytes [from, to) of `f`, opened buffered (fewer at its end).
task<std::vector<std::byte>> read_range(file& f, std::uint64_t from, std::uint64_t to) {
    std::vector<std::byte> out(to > from ? static_cast<std::size_t>(to - from) : 0);
    out.resize(co_await f.read_at(from, out.data(), out.size()));
    co_return out;
}

/// Bytes [from, to) of the file at `path`, through a descriptor of our own: the caller's may be write-only.
task<std::vector<std::byte>> read_range(std::string path, std::uint64_t from, std::uint64_t to) {
    if (to <= from) {
        co_return std::vector<std::byte>();
    }
    file f = co_await file::open(std::move(path), open_flags::read, {.dma = dma_mode::off, .sync_directory = false});
    std::vector<std::byte> out = co_await read_range(f, from, to);
    co_await f.close();
    co_return out;
}

std::uint64_t unsynced_bytes_of(const pending_change& c) noexcept {
    switch (c.kind) {
    case change_kind::write:
        return c.length;
    case change_kind::truncate:
        return c.size_before > c.offset ? c.size_before - c.offset : c.offset - c.size_before;
    case change_kind::extend:
        return c.offset + c.length > c.size_before ? c.offset + c.length - c.size_before : 0;
    }
    return 0;
}

/// Rewrites one file to what survives the cut; adds to the report.
task<> tear_file(shard_state& st, const std::string& path, const std::vector<pending_change>& changes,
                 const power_loss::cut_options& options, power_loss::cut_report& report) {
    std::exception_ptr error;
    file f;
    try {
        f = co_await file::open(path, open_flags::read_write, {.dma = dma_mode::off, .sync_directory = false});
    } catch (const std::system_error& e) {
        if (e.code().value() != ENOENT) {
            error = std::current_exception();
        }
    }
    if (error) {
        std::rethrow_exception(error);
    }
    if (!f.is_open()) {
        co_return; // removed since: names are outside the model
    }
    st.tearing_fd = f.fd();
    auto exempt = defer([&st] { st.tearing_fd = -1; });
    ++report.files;

    const std::uint64_t page = std::max<std::size_t>(options.page_size, 1);
    const std::uint64_t size_now = co_await f.size();
    std::uint64_t lo = size_now;
    std::uint64_t hi = size_now;
    for (const pending_change& c : changes) {
        lo = std::min(lo, c.kind == change_kind::extend ? c.size_before : c.offset);
        hi = std::max({hi, c.size_before, c.kind == change_kind::truncate ? c.offset : c.offset + c.length});
        report.unsynced_bytes += unsynced_bytes_of(c);
    }
    lo = align_down(lo, page);
    const auto span = static_cast<std::size_t>(hi - lo);

    // The page cache (now) and the durable image (every change undone, newest first).
    std::vector<std::byte> now = co_await read_range(f, lo, size_now);
    now.resize(span);
    std::vector<std::byte> durable = now;
    std::uint64_t durable_size = size_now;
    for (auto c = changes.rbegin(); c != changes.rend(); ++c) {
        if (!c->old.empty()) {
            std::copy(c->old.begin(), c->old.end(), durable.begin() + static_cast<std::ptrdiff_t>(c->offset - lo));
        }
        durable_size = c->size_before;
    }
    if (durable_size < hi) { // past the durable size: zeros (an unwritten or preallocated extent)
        std::fill(durable.begin() + static_cast<std::ptrdiff_t>(std::max(durable_size, lo) - lo), durable.end(),
                  std::byte{0});
    }

    // Seeded by the file's name, not its directory: a test's temporary directory must not change the outcome.
    std::mt19937_64 rng(options.seed ^
                        std::hash<std::string_view>{}(std::string_view(path).substr(path.rfind('/') + 1)));
    std::vector<std::byte> image;
    std::uint64_t size = size_now;
    switch (options.mode) {
    case power_loss::tear::keep:
        image = now;
        break;
    case power_loss::tear::drop:
        image = durable;
        size = durable_size;
        break;
    case power_loss::tear::prefix: {
        // The changes reached the disk in order up to a random one, which reached it in part (a write: a prefix
        // of its bytes; a resize: all or nothing). Later ones did not, even when the final image would hide it
        // (a write followed by the truncation that took it back: the write may be there, the truncation not).
        image = durable;
        size = durable_size;
        const std::size_t k = static_cast<std::size_t>(rng() % (changes.size() + 1));
        for (std::size_t i = 0; i < k && i < changes.size(); ++i) {
            const pending_change& c = changes[i];
            const bool last = i + 1 == k;
            const std::uint64_t part = last ? rng() % (c.length + 1) : c.length;
            switch (c.kind) {
            case change_kind::write: {
                const auto n = static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(part, c.bytes.size()));
                std::copy(c.bytes.begin(), c.bytes.begin() + n,
                          image.begin() + static_cast<std::ptrdiff_t>(c.offset - lo));
                size = std::max(size, c.offset + static_cast<std::uint64_t>(n));
                break;
            }
            case change_kind::truncate:
                if (c.offset < size) { // what a later growth exposes again reads as zeros
                    std::fill(image.begin() + static_cast<std::ptrdiff_t>(std::max(c.offset, lo) - lo),
                              image.begin() + static_cast<std::ptrdiff_t>(size - lo), std::byte{0});
                }
                size = c.offset;
                break;
            case change_kind::extend:
                size = std::max(size, c.offset + c.length);
                break;
            }
        }
        break;
    }
    case power_loss::tear::random_pages:
        image = durable;
        for (std::uint64_t p = lo; p < hi; p += page) {
            if ((rng() & 1) != 0) {
                const auto from = static_cast<std::ptrdiff_t>(p - lo);
                const auto to = static_cast<std::ptrdiff_t>(std::min(p + page, hi) - lo);
                std::copy(now.begin() + from, now.begin() + to, image.begin() + from);
            }
        }
        break;
    }
    for (std::uint64_t i = lo; i < std::max(size, size_now); ++i) {
        const bool was = i < size_now;
        const bool is = i < size;
        report.lost_bytes += (was != is || (is && image[i - lo] != now[i - lo])) ? 1 : 0;
    }
    if (size > lo) {
        co_await f.write_at(lo, image.data(), static_cast<std::size_t>(size - lo));
    }
    co_await f.truncate(size);
    co_await f.close();
}

} // namespace

namespace power_loss {

void arm() {
    if (!tl_state) {
        tl_state = std::make_unique<shard_state>();
    }
    tl_state->files.clear();
    std::fill(std::begin(tl_state->trip), std::end(tl_state->trip), 0);
    detail::tl_power_loss_armed = true;
    g_power_off.store(false, std::memory_order_relaxed);
}

void trip_at(fault_op op, std::uint64_t n) noexcept {
    if (tl_state) {
        const auto i = static_cast<unsigned>(op);
        tl_state->seen[i] = 0;
        tl_state->trip[i] = n;
    }
}

task<cut_report> cut(cut_options options) {
    g_power_off.store(true, std::memory_order_relaxed);
    cut_report report;
    shard_state* st = tl_state.get();
    if (st == nullptr) {
        co_return report;
    }
    co_await st->idle.wait([st] { return st->in_flight == 0; });
    auto files = std::move(st->files);
    st->files.clear();
    for (const auto& [path, changes] : files) {
        if (!changes.empty()) {
            co_await tear_file(*st, path, changes, options, report);
        }
    }
    co_return report;
}

void reset() noexcept {
    detail::tl_power_loss_armed = false;
    g_power_off.store(false, std::memory_order_relaxed);
    tl_state.reset();
}

bool power_off() noexcept {
    return g_power_off.load(std::memory_order_relaxed);
}

} // namespace power_loss

namespace detail {

bool power_is_off() noexcept {
    return g_power_off.load(std::memory_order_relaxed);
}

task<std::int64_t> power_loss_begin_change(file& f, change_kind kind, std::uint64_t offset, std::uint64_t length,
                                           const void* data) {
    shard_state* st = tl_state.get();
    if (st == nullptr || f.fd() == st->tearing_fd) {
        co_return 0;
    }
    if (count(*st, fault_op::write)) {
        co_return -EIO;
    }
    ++st->in_flight; // from here the cut waits for this change
    auto left = defer([st] { leave(*st); });
    pending_change c{.kind = kind, .offset = offset, .length = length};
    if (kind == change_kind::write && data != nullptr) {
        const auto* p = static_cast<const std::byte*>(data); // copied now: the caller's buffer outlives only the call
        c.bytes.assign(p, p + length);
    }
    c.size_before = co_await f.size();
    if (kind == change_kind::write) {
        c.old = co_await read_range(f.path(), offset, std::min(offset + length, c.size_before));
    } else if (kind == change_kind::truncate) {
        c.old = co_await read_range(f.path(), offset, c.size_before);
    }
    if (power_is_off()) {
        co_return -EIO; // went off while we looked: the change never starts
    }
    const std::int64_t id = c.id = st->next_id++;
    st->files[f.path()].push_back(std::move(c));
    left.cancel(); // still in flight: power_loss_end_change leaves
    co_return id;
}

void power_loss_end_change(const std::string& path, std::int64_t id) noexcept {
    shard_state* st = tl_state.get();
    if (st == nullptr || id <= 0) {
        return;
    }
    if (auto it = st->files.find(path); it != st->files.end()) {
        for (pending_change& c : it->second) {
            if (c.id == id) {
                c.done = ++st->tick;
            }
        }
    }
    leave(*st);
}

std::int64_t power_loss_begin_sync(const std::string* /*path*/) noexcept {
    shard_state* st = tl_state.get();
    if (st == nullptr) {
        return power_is_off() ? -EIO : 0;
    }
    if (count(*st, fault_op::sync)) {
        return -EIO;
    }
    ++st->in_flight;
    return st->tick; // changes completed up to now are what the sync covers
}

int power_loss_end_sync(const std::string* path, std::int64_t ticket, int result) noexcept {
    shard_state* st = tl_state.get();
    if (st != nullptr && ticket >= 0) {
        leave(*st);
    }
    if (power_is_off()) {
        return -EIO; // the machine went down before the sync returned: nothing is known to be durable
    }
    if (st == nullptr || path == nullptr || result != 0) {
        return result; // a failed sync makes nothing durable
    }
    if (auto it = st->files.find(*path); it != st->files.end()) {
        std::erase_if(it->second, [ticket](const pending_change& c) { return c.done != 0 && c.done <= ticket; });
        if (it->second.empty()) {
            st->files.erase(it);
        }
    }
    return result;
}

} // namespace detail
} // namespace percore::storage
