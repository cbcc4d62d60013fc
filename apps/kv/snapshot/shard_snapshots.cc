#include "apps/kv/snapshot/shard_snapshots.hh"

#include <chrono>
#include <exception>

#include "apps/kv/shard_state.hh"
#include "runtime/log.hh"
#include "runtime/spawn.hh"
#include "shard/shard_id.hh"
#include "storage/record.hh"

namespace percore::kv {

namespace {

constexpr logger snapshot_log("kv");

} // namespace

bool shard_snapshots::start(shard_state& st) {
    if (_status.in_progress || _gate.is_closed() || !st.plog.enabled() || st.plog.misconf()) {
        return false;
    }
    _status.in_progress = true;
    _status.current_start_ms = now_ms();
    _cancel = false;
    _past_cut = false;
    spawn(run(st, _gate.hold())).detach();
    return true;
}

bool shard_snapshots::maybe_rewrite(shard_state& st) {
    const settings& c = st.config();
    if (_status.in_progress || c.log_rewrite_percentage == 0 || !st.plog.enabled() || now_ms() < _retry_after_ms) {
        return false;
    }
    const log_status s = st.plog.status();
    if (s.size < c.log_rewrite_min_size) {
        return false;
    }
    // Redis's rule: growth over the size the last rewrite left (or the log had at start), in percent.
    const std::uint64_t base = s.base_size != 0 ? s.base_size : 1;
    const std::uint64_t growth = s.size * 100 / base - 100;
    if (s.size * 100 / base < 100 || growth < c.log_rewrite_percentage) {
        return false;
    }
    snapshot_log.info("shard {}: the log grew to {} bytes, {}% over its base of {}: rewriting it", this_shard_id(),
                      s.size, growth, s.base_size);
    return start(st);
}

task<> shard_snapshots::wait_for_room() {
    if (_writer) {
        co_await _writer->wait_for_room();
    }
}

task<> shard_snapshots::run(shard_state& st, gate::holder hold) {
    const auto started = std::chrono::steady_clock::now();
    _writer = std::make_unique<snapshot_writer>(st.db, snapshot_options{.pending_limit = st.config().snapshot_buffer});
    bool ok = false;
    try {
        // The cut needs the log to hold every record of what the keyspace holds, and nothing more: the exclusive
        // lock keeps batches and multi-shard writes out; what the expiry timer recorded is appended first.
        co_await st.lock.lock();
        if (_cancel) {
            st.lock.unlock();
            throw std::runtime_error("cancelled before its cut");
        }
        try {
            while (st.plog.has_pending()) {
                (void)co_await st.plog.commit();
            }
        } catch (...) {
            st.lock.unlock();
            throw;
        }
        if (st.plog.misconf() || !st.plog.enabled()) {
            st.lock.unlock();
            throw std::runtime_error("the log refuses writes");
        }
        const std::uint64_t size_at_cut = st.plog.status().size;
        // unlock() only queues the waiters it grants; the writer's cut runs synchronously when awaited, before
        // any of them: they run after the cut.
        st.lock.unlock();
        _past_cut = true;
        co_await _writer->run(st.plog.log());
        const snapshot_stats& w = _writer->stats();
        // The log is now the snapshot plus what was appended after the cut.
        st.plog.rewritten(storage::framed_size(0) * w.records + w.bytes, size_at_cut);
        ok = true;
        _status.saves++;
        _status.last_save_unix = now_ms() / 1000;
        _status.last_bytes = w.bytes;
        _status.last_keys = w.keys;
        snapshot_log.info("shard {}: snapshot of {} keys written ({} bytes, {} saved before a write; pending peak {} "
                          "bytes)",
                          this_shard_id(), w.keys, w.bytes, w.by_writes, w.peak_pending);
    } catch (const std::exception& e) {
        snapshot_log.error("shard {}: snapshot failed: {}", this_shard_id(), e.what());
    }
    if (st.db.snapshot_running()) {
        st.db.abandon_snapshot(); // the writer did not reach the end of its walk (aborted)
    }
    if (!ok) {
        _retry_after_ms = now_ms() + auto_retry_delay_ms;
    }
    _status.last_ok = ok;
    _status.last_peak_pending = _writer->stats().peak_pending;
    _status.last_duration_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
    _status.in_progress = false;
    _finished.broadcast();
    if (_status.scheduled) {
        _status.scheduled = false;
        start(st);
    }
    (void)hold;
}

task<> shard_snapshots::interrupt() {
    if (!_status.in_progress) {
        co_return;
    }
    _status.scheduled = false;
    _cancel = true;
    // Before its cut, it may be waiting for the shard's lock, which our caller may hold: it gives up once it gets
    // it, and has not touched the log. After the cut, its compaction does: wait for it to end.
    if (_past_cut) {
        _writer->cancel();
        while (_status.in_progress) {
            co_await _finished.wait();
        }
    }
}

task<> shard_snapshots::stop() {
    _status.scheduled = false;
    _cancel = true;
    if (_past_cut && _status.in_progress) {
        _writer->cancel();
    }
    co_await _gate.close();
}

} // namespace percore::kv
