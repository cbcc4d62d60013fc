#include "apps/kv/snapshot/snapshot_writer.hh"

#include <exception>
#include <optional>
#include <span>
#include <stdexcept>

#include "apps/kv/snapshot/key_records.hh"
#include "runtime/preempt.hh"

namespace percore::kv {

snapshot_writer::snapshot_writer(keyspace& db, snapshot_options options)
    : _db(db)
    , _options(options) {
}

snapshot_writer::~snapshot_writer() {
    if (_db.snapshot_running()) {
        _db.abandon_snapshot(); // run() was aborted mid-walk (shutdown)
    }
}

void snapshot_writer::save(std::string_view key, const object& value, std::int64_t expiry_ms) {
    if (_discard) {
        return;
    }
    ++_stats.keys;
    if (!_in_step) {
        ++_stats.by_writes;
    }
    // Small keys share records (a payload may hold several commands): fewer frames, checksums and allocations.
    _pending_bytes += write_key_records(key, value, expiry_ms, _scratch);
    for (std::string& r : _scratch) {
        if (!_pending.empty() && _pending.back().size() + r.size() <= snapshot_chunk_bytes) {
            _pending.back() += r;
        } else {
            _pending.push_back(std::move(r));
        }
    }
    _scratch.clear();
    _stats.peak_pending = std::max(_stats.peak_pending, _pending_bytes);
}

void snapshot_writer::drop_pending() noexcept {
    _pending.clear();
    _pending_bytes = 0;
    _room.broadcast();
}

task<> snapshot_writer::wait_for_room() {
    ++_stats.waits;
    while (over_limit() && !_over) {
        co_await _room.wait();
    }
}

task<> snapshot_writer::run(storage::append_log& log) {
    // The two cuts, with no suspension between them (a lazy task runs synchronously up to its first suspension,
    // and begin_compaction() seals the log's gathering batch before its own).
    _db.begin_snapshot(*this);
    std::optional<storage::log_compaction> compaction;
    std::exception_ptr error;
    try {
        compaction.emplace(co_await log.begin_compaction());
    } catch (...) {
        error = std::current_exception();
        _discard = true;
        drop_pending();
    }
    std::uint64_t cursor = 0;
    bool walked = false;
    while (!walked || !_pending.empty()) {
        if (_cancelled && !_discard) {
            error = std::make_exception_ptr(std::runtime_error("cancelled: the log is closing or the server stopping"));
            _discard = true;
            drop_pending();
        }
        if (!walked && !over_limit()) {
            _in_step = true;
            cursor = _db.snapshot_step(cursor, _options.keys_per_step);
            _in_step = false;
            walked = cursor == 0;
        }
        while (!_pending.empty()) {
            // The record stays counted in pending until written: the bound covers the one in flight.
            std::string record = std::move(_pending.front());
            _pending.pop_front();
            if (!_discard) {
                try {
                    co_await compaction->add(std::as_bytes(std::span(record.data(), record.size())));
                    ++_stats.records;
                    _stats.bytes += record.size();
                } catch (...) {
                    error = std::current_exception();
                    _discard = true;
                }
            }
            if (_discard) {
                drop_pending(); // what was popped is already out of the count's reach below
                break;
            }
            _pending_bytes -= record.size();
            if (!over_limit()) {
                _room.broadcast();
            }
        }
        co_await maybe_yield();
    }
    _db.end_snapshot();
    _over = true;
    _room.broadcast();
    if (error) {
        if (compaction) {
            co_await compaction->abandon();
        }
        std::rethrow_exception(error);
    }
    co_await compaction->commit();
}

} // namespace percore::kv
