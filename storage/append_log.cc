#include "storage/append_log.hh"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <system_error>

#include "runtime/defer.hh"
#include "runtime/detail/fiber.hh"
#include "runtime/log.hh"
#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "storage/fallbacks.hh"
#include "storage/record.hh"
#include "storage/sync_marker.hh"

namespace percore::storage {

namespace {

constinit const logger storage_log("storage");

// Segments are written through the page cache: see why-buffered-log.md.
constexpr file_options segment_file_options{.dma = dma_mode::off};
constexpr std::size_t initial_batch_capacity = 64 * 1024;
constexpr std::uint64_t preallocation_step = 16 << 20;

void check(const log_options& o) {
    if (o.segment_size == 0 || o.max_batch_bytes == 0 || o.max_record_size == 0 ||
        o.max_record_size > max_data_payload || o.sync_interval <= duration::zero()) {
        throw std::invalid_argument("append_log: segment_size, max_batch_bytes, sync_interval must be positive and "
                                    "max_record_size within 1..2^30");
    }
}

} // namespace

append_log::append_log(std::string dir, log_options options)
    : _dir(std::move(dir))
    , _options(options) {
    if (percore::detail::tl_reactor != nullptr) {
        _metrics = metrics::local_registry().add_collector([this](metrics::sample_sink& out) {
            const metrics::labels l{{"log", _dir}};
            out.counter("percore_storage_log_appends_total", "Records acknowledged by the append-only log", l,
                        static_cast<double>(_stats.appends));
            out.counter("percore_storage_log_writes_total", "Batch writes of the append-only log", l,
                        static_cast<double>(_stats.batches));
            out.counter("percore_storage_log_written_bytes_total", "Bytes written by the append-only log", l,
                        static_cast<double>(_stats.bytes_written));
            out.counter("percore_storage_log_fdatasyncs_total", "fdatasync calls of the append-only log", l,
                        static_cast<double>(_stats.syncs));
            out.counter("percore_storage_log_failed_appends_total", "Appends that failed", l,
                        static_cast<double>(_stats.failed_appends));
        });
    }
}

append_log::~append_log() {
    if (_flusher_running || _flusher_gate.count() != 0) {
        std::fprintf(stderr, "percore: append_log %s destroyed while its flusher runs: await close() first\n",
                     _dir.c_str());
        std::terminate();
    }
}

task<std::unique_ptr<append_log>> append_log::open(std::string dir, log_options options, record_handler on_record) {
    check(options);
    co_await make_directory(dir);
    recovered_log r = co_await recover_log(dir, options.max_record_size, options.repair, on_record);
    if (fallback_forced(fallback::preallocate)) {
        options.preallocate = false; // as on a file system without fallocate (fallbacks.hh)
    }
    if (r.report.torn_tail_bytes > 0) {
        // Expected after a crash or a power cut (what was not yet durable); worth a line either way, since the
        // records dropped with it may have been acknowledged under `everysec` or `no`.
        storage_log.warn("{}: cut a torn tail of {} bytes ({} intact records after the damage) off {}", dir,
                         r.report.torn_tail_bytes, r.report.torn_tail_records, r.report.torn_tail_segment);
    }
    if (r.report.repaired_bytes > 0) {
        storage_log.error("{}: repair dropped {} bytes after corruption ({} files removed)", dir,
                          r.report.repaired_bytes, r.report.removed_files);
    }
    std::unique_ptr<append_log> log(new append_log(std::move(dir), options));
    log->_recovery = std::move(r.report);
    log->_next_seq = r.next_seq;
    if (r.tail_seq) {
        log->_segment = co_await file::open(segment_path(log->_dir, {*r.tail_seq, segment_kind::log}),
                                            open_flags::write, segment_file_options);
        log->_segment_seq = *r.tail_seq;
        log->_segment_size = r.tail_size;
        // What the previous run wrote may still be only in the page cache: make it durable before anything is
        // written after it (only the newest segment may ever have a torn tail).
        co_await log->_segment.datasync();
        log->_synced_size = r.tail_size;
    } else {
        const std::uint64_t seq = log->_next_seq++;
        log->_segment =
            co_await file::open(segment_path(log->_dir, {seq, segment_kind::log}),
                                open_flags::write | open_flags::create | open_flags::exclusive, segment_file_options);
        log->_segment_seq = seq;
    }
    log->_reserved_end = log->_segment_size;
    log->_gathering = log->new_batch();
    if (options.policy == durability::everysec) {
        append_log* self = log.get();
        log->_sync_timer.set_callback([self] { self->on_sync_timer(); });
        log->_sync_timer.arm_periodic(options.sync_interval);
    }
    co_return log;
}

append_log::batch* append_log::new_batch() {
    batch* b = nullptr;
    if (!_free.empty()) {
        b = _free.back();
        _free.pop_back();
    } else {
        b = _pool.emplace_back(std::make_unique<batch>()).get();
        b->grow(std::min(initial_batch_capacity, _options.max_batch_bytes));
    }
    b->id = ++_last_batch_id;
    b->size = 0;
    b->grow(sync_marker_size);
    b->size = sync_marker_size; // room for the marker, filled in by write_batch()
    b->records = 0;
    b->refs = 1; // the log's, until the batch is finished
    b->done.reset();
    b->error = nullptr;
    return b;
}

void append_log::release(batch* b) noexcept {
    if (--b->refs == 0) {
        _free.push_back(b);
    }
}

void append_log::seal() {
    if (_gathering->records != 0) {
        _sealed.push_back(_gathering);
        _gathering = new_batch();
    }
}

std::uint64_t append_log::last_filled_batch() const noexcept {
    return _gathering->records == 0 ? _gathering->id - 1 : _gathering->id;
}

void append_log::throw_if_unusable() const {
    if (_failure) {
        std::rethrow_exception(_failure);
    }
    if (_closing) {
        throw std::logic_error("append_log " + _dir + ": used after close()");
    }
}

void append_log::kick() {
    if (_flusher_running) {
        return;
    }
    _flusher_running = true;
    // Spawned, not run inline: appenders already runnable in this pass add to the batch before it goes out.
    spawn(flush_loop(_flusher_gate.hold())).detach();
}

void append_log::on_sync_timer() noexcept {
    if (_written_id > _synced_id && !_failure && !_closing) {
        _sync_due = true;
        kick();
    }
}

task<> append_log::append(std::span<const std::byte> payload) {
    throw_if_unusable();
    if (payload.size() > _options.max_record_size) {
        throw std::invalid_argument("append_log " + _dir + ": record of " + std::to_string(payload.size()) +
                                    " bytes exceeds max_record_size");
    }
    batch* b = _gathering;
    const std::size_t framed = framed_size(payload.size());
    encode_record(payload, b->grow(framed));
    b->size += framed;
    ++b->records;
    ++b->refs;
    auto unref = defer([this, b] { release(b); });
    if (b->size - sync_marker_size >= _options.max_batch_bytes) {
        seal(); // full: later appends start the next batch (the copy above kept the call order)
    }
    kick();
    co_await b->done.wait();
    if (b->error) {
        ++_stats.failed_appends;
        std::rethrow_exception(b->error);
    }
    ++_stats.appends;
}

task<> append_log::sync() {
    throw_if_unusable();
    const std::uint64_t target = last_filled_batch();
    if (target <= _synced_id) {
        co_return;
    }
    _sync_wanted = std::max(_sync_wanted, target);
    kick();
    co_await wait_progress(target, target);
}

task<> append_log::wait_progress(std::uint64_t written, std::uint64_t synced) {
    for (;;) {
        if (_failure) {
            std::rethrow_exception(_failure);
        }
        if (_written_id >= written && _synced_id >= synced && _rotate_seq == 0) {
            co_return;
        }
        kick();
        co_await _progress.wait();
    }
}

void append_log::finish(batch* b) noexcept {
    b->done.set();
    release(b);
    _progress.broadcast();
}

void append_log::fail(std::exception_ptr e) noexcept {
    if (_failure) {
        return;
    }
    _failure = e;
    std::string why = "unknown error";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        why = ex.what();
    } catch (...) {
    }
    storage_log.error("append_log {}: {}; refusing further appends (close and reopen to recover)", _dir, why);
    for (batch* b : _sealed) {
        b->error = e;
        finish(b);
    }
    _sealed.clear();
    if (_gathering->records != 0) {
        _gathering->error = e;
        finish(_gathering);
        _gathering = new_batch();
    }
    _progress.broadcast();
}

task<> append_log::flush_loop(gate::holder hold) {
    // The batch in flight must complete: the kernel owns its buffer until the CQE, and its appenders are owed an
    // answer. An abort (reactor shutdown) lets the loop finish the work it has, which is bounded.
    ::percore::detail::abort_shield shield;
    try {
        while (!_failure) {
            if (_sealed.empty()) {
                seal();
            }
            if (!_sealed.empty()) {
                batch* b = _sealed.front();
                _sealed.erase(_sealed.begin());
                co_await write_batch(b);
            } else if (_rotate_seq != 0) {
                co_await rotate(_rotate_seq);
            } else if ((_sync_wanted > _synced_id || _sync_due) && _written_id > _synced_id) {
                _sync_due = false;
                co_await sync_segment();
            } else {
                break;
            }
        }
    } catch (...) {
        fail(std::current_exception());
    }
    _sync_due = false;
    _flusher_running = false;
    _progress.broadcast();
}

task<> append_log::write_batch(batch* b) {
    std::exception_ptr error;
    try {
        if (_rotate_seq != 0 && b->id > _rotate_after) {
            co_await rotate(_rotate_seq); // the compaction cut: this batch and later ones go after the snapshot
        } else if (_rotate_seq == 0 && _segment_size > 0 && _segment_size + b->size > _options.segment_size) {
            co_await rotate(_next_seq++);
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) { // the log failed (rotate() says so); this batch was not written
        b->error = error;
        finish(b);
        co_return;
    }

    encode_sync_marker({.segment = _segment_seq, .offset = _segment_size, .synced = _synced_size}, b->data.get());
    try {
        co_await reserve(_segment_size + b->size);
        co_await _segment.write_at(_segment_size, b->data.get(), b->size);
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // Part of the batch may be in the file: cut it off so the next batch follows the last good record.
        b->error = error;
        std::exception_ptr cut_error;
        try {
            co_await _segment.truncate(_segment_size);
        } catch (...) {
            cut_error = std::current_exception();
        }
        if (cut_error) {
            fail(error); // the tail can no longer be vouched for
        }
        // Not counted as synced even if everything before was: the cut must reach the disk before anything
        // relies on it (a rotation, sync(), close()), or a power cut can bring the failed bytes back.
        _written_id = b->id;
        finish(b);
        co_return;
    }
    _segment_size += b->size;
    _written_id = b->id;
    ++_stats.batches;
    _stats.bytes_written += b->size;
    if (_options.policy == durability::always) {
        try {
            co_await sync_segment();
        } catch (...) {
            b->error = std::current_exception(); // fail() already ran
        }
    }
    finish(b);
}

task<> append_log::reserve(std::uint64_t end) {
    if (!_options.preallocate || end <= _reserved_end) {
        co_return;
    }
    // Blocks reserved past the end of the file (its size does not change): an fdatasync then does not have to
    // journal a block allocation for every batch, which made it 3-4x slower on ext4 (why-buffered-log.md).
    // Reserved a step at a time, so a huge segment_size never reserves more than a step beyond the data.
    const std::uint64_t step = std::min<std::uint64_t>(_options.segment_size, preallocation_step);
    const std::uint64_t to = end + step;
    std::exception_ptr error;
    try {
        co_await _segment.allocate(_reserved_end, to - _reserved_end, true);
    } catch (const std::system_error& e) {
        if (e.code().value() == EOPNOTSUPP) {
            _options.preallocate = false; // this file system cannot: write without
        } else if (e.code().value() != ENOSPC) {
            error = std::current_exception(); // ENOSPC: the writes will say it if it matters
        }
    }
    if (error) {
        std::rethrow_exception(error);
    }
    _reserved_end = to;
}

task<> append_log::sync_segment() {
    const std::uint64_t upto = _written_id;
    const std::uint64_t size = _segment_size; // the flusher writes nothing while it syncs
    std::exception_ptr error;
    try {
        co_await _segment.datasync();
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // Never retried: after a failed fdatasync the kernel may have dropped the pages it could not write, and
        // a second fdatasync would report success for data that is gone.
        fail(error);
        std::rethrow_exception(error);
    }
    ++_stats.syncs;
    _synced_id = upto;
    _synced_size = size;
    _progress.broadcast();
}

task<> append_log::rotate(std::uint64_t seq) {
    std::exception_ptr error;
    try {
        if (_written_id > _synced_id) {
            co_await sync_segment(); // the old segment is complete and durable before the next one gets data
        }
        file next = co_await file::open(segment_path(_dir, {seq, segment_kind::log}),
                                        open_flags::write | open_flags::create | open_flags::exclusive,
                                        segment_file_options); // syncs the directory: the name is durable
        co_await _segment.close();
        _segment = std::move(next);
        _segment_seq = seq;
        _segment_size = 0;
        _synced_size = 0;
        _reserved_end = 0;
        ++_stats.rotations;
        if (seq == _rotate_seq) {
            _rotate_seq = 0;
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        fail(error);
        std::rethrow_exception(error);
    }
    _progress.broadcast();
}

task<> append_log::close() {
    if (_closing) {
        co_return;
    }
    const bool failed_before = failed();
    _closing = true; // appends from now on are refused; those already in a batch are written and synced
    _sync_timer.cancel();
    if (!failed_before) {
        const std::uint64_t target = last_filled_batch();
        _sync_wanted = std::max(_sync_wanted, target);
        std::exception_ptr error;
        try {
            co_await wait_progress(target, target);
        } catch (...) {
            error = std::current_exception();
        }
        (void)error; // recorded as the log's failure; reported below
    }
    co_await _flusher_gate.close();
    co_await _segment.close();
    if (!failed_before && _failure) {
        std::rethrow_exception(_failure);
    }
}

task<log_compaction> append_log::begin_compaction() {
    throw_if_unusable();
    if (_compacting) {
        throw std::logic_error("append_log " + _dir + ": a compaction is already in progress");
    }
    // The cut, before any suspension: batches up to here stay in the old segments.
    seal();
    const std::uint64_t last_old = _gathering->id - 1;
    const std::uint64_t snapshot_seq = _next_seq++;
    _rotate_seq = _next_seq++;
    _rotate_after = last_old;
    _compacting = true;
    log_compaction c(*this, snapshot_seq, last_old);
    kick();
    co_await wait_progress(last_old, 0); // the new segment exists: the cut is on disk
    co_await c.open_file();
    co_return c;
}

} // namespace percore::storage
