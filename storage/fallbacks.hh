/// \file
/// \brief Forcing the storage layer's fallback paths, so a test run covers what old kernels, other file systems
/// and other CPUs get. The environment variable PERCORE_STORAGE_FALLBACKS, read once (at the first choice), is
/// a comma-separated list of the names below, or `all`:
///
/// | name          | the usual path                                   | forced: the fallback                      | who
/// gets it anyway |
/// |---------------|--------------------------------------------------|-------------------------------------------|--------------------|
/// | `ftruncate`   | IORING_OP_FTRUNCATE (probed)                     | ftruncate(2) on the blocking pool         |
/// Linux < 6.9 | | `dioalign`    | DMA alignment from statx STATX_DIOALIGN          | 4096 bytes | Linux < 6.1 | |
/// `dma`         | O_DIRECT where the file system takes it          | buffered; `dma_mode::required` fails EINVAL |
/// tmpfs before 6.6, file systems without O_DIRECT | | `preallocate` | segments reserved ahead (fallocate KEEP_SIZE) |
/// no reservation, as after EOPNOTSUPP       | file systems without fallocate | | `crc32c`      | the SSE4.2 crc32
/// instruction                     | slicing-by-8 tables                       | CPUs without SSE4.2 |
///
/// \code
/// PERCORE_STORAGE_FALLBACKS=all meson test -C build/release --suite storage        # the oldest paths
/// PERCORE_STORAGE_FALLBACKS=ftruncate,dioalign ./my_server                          # Linux 5.19 on ext4
/// \endcode
///
/// The io_uring setup flags are the runtime's choice (tests: PERCORE_TEST_URING_MODE=coop_taskrun for 5.19).
/// An unknown name is reported on stderr and ignored.
#pragma once

#include <cstdint>
#include <string>

namespace percore::storage {

enum class fallback : std::uint8_t {
    ftruncate = 1,
    dioalign = 2,
    dma = 4,
    preallocate = 8,
    crc32c = 16,
};

/// Whether PERCORE_STORAGE_FALLBACKS forces `f`. \any_shard
[[nodiscard]] bool fallback_forced(fallback f) noexcept;

/// The forced fallbacks, comma-separated ("" when none). \any_shard
[[nodiscard]] std::string forced_fallbacks();

} // namespace percore::storage
