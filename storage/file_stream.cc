#include "storage/file_stream.hh"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace percore::storage {

namespace {
// Buffered mode needs no alignment; 64 keeps copies cache-line friendly.
std::size_t stream_alignment(const file& f) noexcept {
    return f.is_dma() ? f.alignment() : 64;
}
} // namespace

file_reader::file_reader(file& f, std::uint64_t offset, std::size_t chunk)
    : _f(&f)
    , _align(stream_alignment(f))
    , _chunk(align_up(std::max<std::size_t>(chunk, 1), _align))
    , _file_pos(f.is_dma() ? align_down(offset, _align) : offset)
    , _skip(static_cast<std::size_t>(offset - _file_pos)) {
}

task<std::size_t> file_reader::fill(std::size_t n) {
    while (_end - _begin < n && !_eof) {
        const std::size_t left = _end - _begin;
        const std::size_t want = std::max<std::size_t>(_chunk, align_up(_skip + n - left, _align));
        if (_buf.size() < _end + want || _end % _align != 0) {
            // Move what is left so that it ends on an alignment boundary: the next read lands aligned.
            const std::size_t start = static_cast<std::size_t>(align_up(left, _align)) - left;
            if (_buf.size() < start + left + want) {
                dma_buffer bigger(_align, start + left + want);
                if (left != 0) {
                    std::memcpy(bigger.data() + start, _buf.data() + _begin, left);
                }
                _buf = std::move(bigger);
            } else if (left != 0) {
                std::memmove(_buf.data() + start, _buf.data() + _begin, left);
            }
            _begin = start;
            _end = start + left;
        }
        const std::size_t got = co_await _f->read_at(_file_pos, _buf.data() + _end, want);
        _end += got;
        _file_pos += got;
        _eof = got < want;
        // A DMA reader that starts inside a block drops the bytes before its start offset once.
        const std::size_t skipped = std::min(_skip, _end - _begin);
        _begin += skipped;
        _skip -= skipped;
    }
    co_return _end - _begin;
}

task<std::size_t> file_reader::read(void* dst, std::size_t n) {
    auto* out = static_cast<std::byte*>(dst);
    std::size_t done = 0;
    while (done < n) {
        const std::size_t have = co_await fill(std::min(n - done, _chunk));
        if (have == 0) {
            break;
        }
        const std::size_t take = std::min(have, n - done);
        std::memcpy(out + done, available().data(), take);
        consume(take);
        done += take;
    }
    co_return done;
}

file_writer::file_writer(file& f, std::uint64_t offset, std::size_t buffer)
    : _f(&f)
    , _align(stream_alignment(f))
    , _buf(_align, align_up(std::max<std::size_t>(buffer, 1), _align))
    , _buf_pos(offset) {
    if (f.is_dma() && offset % _align != 0) {
        throw std::invalid_argument("file_writer " + f.path() + ": DMA mode needs an aligned start offset");
    }
}

task<> file_writer::write(const void* data, std::size_t n) {
    const auto* in = static_cast<const std::byte*>(data);
    while (n > 0) {
        const std::size_t take = std::min(n, _buf.size() - _used);
        std::memcpy(_buf.data() + _used, in, take);
        _used += take;
        in += take;
        n -= take;
        if (_used == _buf.size()) {
            co_await flush();
        }
    }
}

task<> file_writer::flush() {
    if (_used == 0) {
        co_return;
    }
    if (!_f->is_dma()) {
        co_await _f->write_at(_buf_pos, _buf.data(), _used);
        _buf_pos += _used;
        _used = 0;
        co_return;
    }
    const auto len = static_cast<std::size_t>(align_up(_used, _align));
    std::memset(_buf.data() + _used, 0, len - _used);
    co_await _f->write_at(_buf_pos, _buf.data(), len);
    _padded = len != _used;
    const auto whole = static_cast<std::size_t>(align_down(_used, _align));
    if (whole != 0) {
        std::memmove(_buf.data(), _buf.data() + whole, _used - whole);
        _buf_pos += whole;
        _used -= whole;
    }
}

task<> file_writer::close() {
    co_await flush();
    if (_padded) {
        co_await _f->truncate(position());
        _padded = false;
    }
}

} // namespace percore::storage
