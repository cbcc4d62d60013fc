#include <exception>
#include <stdexcept>

#include "runtime/defer.hh"
#include "storage/append_log.hh"
#include "storage/record.hh"

namespace percore::storage {

log_compaction::log_compaction(append_log& log, std::uint64_t seq, std::uint64_t last_old_batch)
    : _log(&log)
    , _seq(seq)
    , _last_old_batch(last_old_batch)
    , _tmp_path(segment_path(log.directory(), {seq, segment_kind::snapshot}) + std::string(temporary_suffix)) {
}

log_compaction::log_compaction(log_compaction&& o) noexcept
    : _log(std::exchange(o._log, nullptr))
    , _seq(o._seq)
    , _last_old_batch(o._last_old_batch)
    , _tmp_path(std::move(o._tmp_path))
    , _file(std::move(o._file))
    , _writer(std::move(o._writer))
    , _frame(std::move(o._frame))
    , _done(o._done) {
}

log_compaction::~log_compaction() {
    // Not committed: the temporary file stays until the next recovery removes it (no I/O in a destructor).
    if (_log != nullptr && !_done) {
        _log->_compacting = false;
    }
}

task<> log_compaction::open_file() {
    // DMA where available: a snapshot is one long sequential write that nobody reads back soon.
    _file = std::make_unique<file>(co_await file::open(
        _tmp_path, open_flags::write | open_flags::create | open_flags::truncate, {.sync_directory = false}));
    _writer = std::make_unique<file_writer>(*_file, 0, std::size_t{1} << 20);
}

task<> log_compaction::add(std::span<const std::byte> payload) {
    if (_done || _log == nullptr) {
        throw std::logic_error("log_compaction::add after commit or abandon");
    }
    if (payload.size() > _log->options().max_record_size) {
        throw std::invalid_argument("log_compaction " + _tmp_path + ": record exceeds max_record_size");
    }
    _frame.resize(framed_size(payload.size()));
    encode_record(payload, _frame.data());
    co_await _writer->write(_frame.data(), _frame.size());
}

task<> log_compaction::remove_temporary() {
    try {
        if (_file && _file->is_open()) {
            co_await _file->close();
        }
        co_await remove_file(_tmp_path, false);
    } catch (...) {
        // Best effort: recovery removes leftover temporaries.
    }
}

task<> log_compaction::commit() {
    if (_done || _log == nullptr) {
        throw std::logic_error("log_compaction::commit after commit or abandon");
    }
    _done = true;
    append_log& log = *_log;
    auto finished = defer([&log] { log._compacting = false; });
    std::exception_ptr error;
    try {
        co_await _writer->close();
        co_await _file->datasync();
        co_await _file->close();
        // Records appended before the cut must be written before the segments holding them may go.
        co_await log.wait_progress(_last_old_batch, 0);
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        co_await remove_temporary();
        std::rethrow_exception(error);
    }
    // The switch: once the rename is durable, recovery starts from the snapshot.
    co_await rename_file(_tmp_path, segment_path(log.directory(), {_seq, segment_kind::snapshot}));
    directory_entries entries = co_await list_directory(log.directory());
    for (const segment_id& id : entries.segments) {
        if (id.seq < _seq) {
            co_await remove_file(segment_path(log.directory(), id), false);
        }
    }
    co_await sync_directory(log.directory());
    ++log._stats.compactions;
}

task<> log_compaction::abandon() {
    if (_done || _log == nullptr) {
        co_return;
    }
    _done = true;
    _log->_compacting = false;
    co_await remove_temporary();
}

} // namespace percore::storage
