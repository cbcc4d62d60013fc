// PERCORE_STORAGE_FALLBACKS forces the storage layer's fallback paths (storage/fallbacks.hh). This test checks
// each path against the variable as the process sees it; meson runs it with the variable unset and with "all".
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/append_log.hh"
#include "storage/detail/crc32c.hh"
#include "storage/detail/file_ops.hh"
#include "storage/fallbacks.hh"
#include "storage/file.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;

namespace {

/// Whether the environment forces fallback `name` (read here independently of the library).
bool forced(std::string_view name) {
    const char* v = std::getenv("PERCORE_STORAGE_FALLBACKS");
    if (v == nullptr) {
        return false;
    }
    const std::string list = std::string(",") + v + ",";
    return list.find(",all,") != std::string::npos || list.find("," + std::string(name) + ",") != std::string::npos;
}

bool direct_io_works(const std::string& dir) {
    const std::string probe = dir + "/probe";
    const int fd = ::open(probe.c_str(), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ::close(fd);
    }
    ::unlink(probe.c_str());
    return fd >= 0;
}

} // namespace

TEST_SUITE("storage/fallbacks") {

    RUNTIME_TEST_CASE("DMA and its alignment follow PERCORE_STORAGE_FALLBACKS (dma, dioalign)") {
        const char* env = std::getenv("PERCORE_STORAGE_FALLBACKS");
        MESSAGE("PERCORE_STORAGE_FALLBACKS=" << std::string(env != nullptr ? env : "")
                                             << ", forced: " << forced_fallbacks());
        test::tmpdir dir;
        file f = co_await file::open(dir.file("f"), open_flags::read_write | open_flags::create);
        CHECK(f.is_dma() == (!forced("dma") && direct_io_works(dir.path())));
        if (f.is_dma() && forced("dioalign")) {
            CHECK(f.alignment() == 4096); // what a kernel without STATX_DIOALIGN gets
        }
        co_await f.close();
        const int required = co_await test::error_of(
            file::open(dir.file("g"), open_flags::write | open_flags::create, {.dma = dma_mode::required}));
        CHECK(required == (f.is_dma() ? 0 : EINVAL));
    }

    RUNTIME_TEST_CASE("truncation goes to the blocking pool when ftruncate is forced, and works either way") {
        test::tmpdir dir;
        CHECK(storage::detail::ftruncate_supported() == (!forced("ftruncate") && this_reactor().ring().supports(55)));
        file f =
            co_await file::open(dir.file("f"), open_flags::read_write | open_flags::create, {.dma = dma_mode::off});
        co_await f.write_at(0, "0123456789", 10);
        co_await f.truncate(4);
        CHECK(co_await f.size() == 4);
        co_await f.close();
    }

    RUNTIME_TEST_CASE("the log preallocates its segments unless preallocate is forced") {
        test::tmpdir dir;
        test::opened_log o = co_await test::open_log(dir.path());
        co_await o.log->append(test::as_bytes("one record"));
        co_await o.log->close();
        struct stat st {};
        REQUIRE(::stat((dir.path() + "/" + test::files_in(dir.path()).front()).c_str(), &st) == 0);
        const auto allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
        MESSAGE("allocated " << allocated << " bytes for " << st.st_size);
        if (forced("preallocate")) {
            CHECK(allocated < (1 << 20));
        } else {
            CHECK(allocated >= (1 << 20)); // 16 MiB reserved ahead (every file system the tests run on has fallocate)
        }
    }

    TEST_CASE("crc32c takes the table path when crc32c is forced") {
        CHECK(percore::detail::crc32c_hardware() == (!forced("crc32c") && __builtin_cpu_supports("sse4.2")));
        CHECK(percore::detail::crc32c("123456789", 9) == 0xE3069283u);
    }

} // TEST_SUITE
