/// \file
/// \brief Sequential streams over a `file`: `file_reader` (large read-ahead chunks, records parsed in place) and
/// `file_writer` (buffered appends). Both work in DMA and buffered mode and hide the alignment rules of DMA.
///
/// \code
/// file_writer w(f);                              // from offset 0
/// co_await w.write(header, sizeof header);
/// co_await w.write(body.data(), body.size());
/// co_await w.close();                            // flushes; in DMA mode trims the zero padding of the last block
///
/// file_reader r(f);
/// std::size_t n = co_await r.fill(8);            // at least 8 bytes buffered, fewer only at end of file
/// std::span<const std::byte> bytes = r.available();
/// r.consume(8);
/// \endcode
///
/// Neither owns the file; both must not outlive it. Neither syncs: call `file::datasync()` for durability.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/task.hh"
#include "storage/dma_buffer.hh"
#include "storage/file.hh"

namespace percore::storage {

inline constexpr std::size_t default_stream_buffer = 128 * 1024;

class file_reader {
public:
    /// \param chunk bytes per read (rounded up to the file's alignment).
    explicit file_reader(file& f, std::uint64_t offset = 0, std::size_t chunk = default_stream_buffer);

    /// Makes at least `n` bytes available unless the file ends first. \return available().size() \shard_local
    task<std::size_t> fill(std::size_t n);
    /// The bytes read and not consumed yet, starting at position().
    [[nodiscard]] std::span<const std::byte> available() const noexcept {
        return {_buf.data() + _begin, _end - _begin};
    }
    /// Drops `n` (<= available().size()) bytes from the front.
    void consume(std::size_t n) noexcept { _begin += n; }
    /// File offset of available().data().
    [[nodiscard]] std::uint64_t position() const noexcept { return _file_pos + _skip - (_end - _begin); }
    /// The end of the file was seen: available() is all that is left.
    [[nodiscard]] bool eof() const noexcept { return _eof; }

    /// Copies up to `n` bytes to `dst`; fewer only at the end of the file. \shard_local
    task<std::size_t> read(void* dst, std::size_t n);

private:
    file* _f;
    std::size_t _align;
    std::size_t _chunk;
    dma_buffer _buf;
    std::size_t _begin = 0;
    std::size_t _end = 0;
    std::uint64_t _file_pos; ///< offset of the next read (of _buf[_end])
    std::size_t _skip;       ///< bytes still to drop before the start offset (a DMA reader starting mid-block)
    bool _eof = false;
};

class file_writer {
public:
    /// \param offset where writing starts; in DMA mode a multiple of the file's alignment (std::invalid_argument).
    explicit file_writer(file& f, std::uint64_t offset = 0, std::size_t buffer = default_stream_buffer);

    /// Appends `n` bytes; writes to the file each time the buffer fills. \shard_local
    task<> write(const void* data, std::size_t n);
    /// Writes what is buffered. In DMA mode the last partial block goes out padded with zeros and stays buffered,
    /// to be rewritten by the next flush (close() trims the padding). \shard_local
    task<> flush();
    /// Flushes, and in DMA mode truncates the file to position(). Does not sync nor close the file. \shard_local
    task<> close();
    /// Bytes written so far, as a file offset.
    [[nodiscard]] std::uint64_t position() const noexcept { return _buf_pos + _used; }

private:
    file* _f;
    std::size_t _align;
    dma_buffer _buf;
    std::size_t _used = 0;
    std::uint64_t _buf_pos; ///< file offset of _buf[0]
    bool _padded = false;   ///< the file holds zero padding past position()
};

} // namespace percore::storage
