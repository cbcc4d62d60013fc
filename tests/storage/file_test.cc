#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "storage/dma_buffer.hh"
#include "storage/fallbacks.hh"
#include "storage/fault_injection.hh"
#include "storage/file.hh"
#include "storage/file_stream.hh"
#include "tests/storage/helpers.hh"
#include "tests/support/test_runtime.hh"
#include "tests/support/tmpdir.hh"

using namespace percore;
using namespace percore::storage;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = static_cast<std::byte>((i * 131 + seed) >> 3);
    }
    return v;
}

/// Whether the file system under `dir` takes O_DIRECT, asked without percore.
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

TEST_SUITE("storage/file") {

    RUNTIME_TEST_CASE("data written at offsets reads back, and reads stop at the end of the file") {
        test::tmpdir dir;
        file f =
            co_await file::open(dir.file("a"), open_flags::read_write | open_flags::create, {.dma = dma_mode::off});
        CHECK_FALSE(f.is_dma());
        const auto data = pattern(10'000, 1);
        co_await f.write_at(0, data.data(), 6'000);
        co_await f.write_at(6'000, data.data() + 6'000, 4'000);
        CHECK(co_await f.size() == 10'000);
        std::vector<std::byte> back(12'000);
        const std::size_t n = co_await f.read_at(0, back.data(), back.size());
        CHECK(n == 10'000);
        CHECK(std::equal(data.begin(), data.end(), back.begin()));
        CHECK(co_await f.read_at(20'000, back.data(), 100) == 0);
        co_await f.datasync();
        co_await f.sync();
        co_await f.close();
        CHECK_FALSE(f.is_open());
    }

    RUNTIME_TEST_CASE("truncate and allocate change the size, keep_size does not") {
        test::tmpdir dir;
        file f =
            co_await file::open(dir.file("b"), open_flags::read_write | open_flags::create, {.dma = dma_mode::off});
        const auto data = pattern(5000, 2);
        co_await f.write_at(0, data.data(), data.size());
        co_await f.truncate(1234);
        CHECK(co_await f.size() == 1234);
        co_await f.allocate(0, 1 << 20, true);
        CHECK(co_await f.size() == 1234);
        co_await f.allocate(0, 8192);
        CHECK(co_await f.size() == 8192);
        std::vector<std::byte> back(1234);
        CHECK(co_await f.read_at(0, back.data(), back.size()) == 1234);
        CHECK(std::equal(back.begin(), back.end(), data.begin()));
        co_await f.close();
    }

    RUNTIME_TEST_CASE("DMA mode is chosen when the file system takes O_DIRECT and wants aligned access") {
        test::tmpdir dir;
        // A forced `dma` fallback (storage/fallbacks.hh) makes every file system look like one without O_DIRECT.
        const bool direct = direct_io_works(dir.path()) && !fallback_forced(fallback::dma);
        const std::string note =
            dir.path() + (direct ? " takes O_DIRECT" : " refuses O_DIRECT (or the fallback is forced)");
        MESSAGE(note);
        file f = co_await file::open(dir.file("c"), open_flags::read_write | open_flags::create);
        CHECK(f.is_dma() == direct);
        if (!direct) {
            co_await f.close();
            co_return;
        }
        CHECK(f.alignment() >= 512);
        dma_buffer buf(f.alignment(), 3 * f.alignment());
        const auto data = pattern(buf.size(), 3);
        std::memcpy(buf.data(), data.data(), data.size());
        co_await f.write_at(0, buf.data(), buf.size());
        dma_buffer back(f.alignment(), buf.size());
        CHECK(co_await f.read_at(0, back.data(), back.size()) == buf.size());
        CHECK(std::memcmp(back.data(), data.data(), data.size()) == 0);
        bool refused = false;
        try {
            co_await f.write_at(1, buf.data(), buf.size());
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        CHECK(refused);
        co_await f.close();
    }

    RUNTIME_TEST_CASE("a file that refuses O_DIRECT opens buffered, unless DMA is required") {
        // /dev/null has no direct I/O: the same answer tmpfs gave before Linux 6.6.
        file f = co_await file::open("/dev/null", open_flags::write);
        CHECK_FALSE(f.is_dma());
        CHECK(f.alignment() == 1);
        co_await f.write_at(0, "abc", 3);
        co_await f.close();
        CHECK(co_await test::error_of(file::open("/dev/null", open_flags::write, {.dma = dma_mode::required})) ==
              EINVAL);
    }

    RUNTIME_TEST_CASE("the streams round-trip odd sizes in DMA and in buffered mode") {
        test::tmpdir dir;
        for (dma_mode mode : {dma_mode::automatic, dma_mode::off}) {
            const std::string path = dir.file(mode == dma_mode::off ? "buffered" : "dma");
            file f = co_await file::open(path, open_flags::read_write | open_flags::create, {.dma = mode});
            const auto data = pattern(300'001, 4);
            {
                file_writer w(f, 0, 64 * 1024);
                for (std::size_t at = 0; at < data.size(); at += 7'777) {
                    co_await w.write(data.data() + at, std::min<std::size_t>(7'777, data.size() - at));
                    if (at % 3 == 0) {
                        co_await w.flush(); // DMA: the partial block is written padded, then rewritten
                    }
                }
                co_await w.close();
                CHECK(w.position() == data.size());
            }
            CHECK(co_await f.size() == data.size());
            file_reader r(f, 12'345, 10'000);
            std::vector<std::byte> back(data.size());
            const std::size_t n = co_await r.read(back.data(), back.size());
            CHECK(n == data.size() - 12'345);
            CHECK(std::equal(back.begin(), back.begin() + static_cast<std::ptrdiff_t>(n), data.begin() + 12'345));
            CHECK(r.eof());
            file_reader big(f, 0, 4096);
            CHECK(co_await big.fill(200'000) >= 200'000); // more than one chunk at once
            CHECK(std::equal(data.begin(), data.begin() + 200'000, big.available().begin()));
            co_await f.close();
        }
    }

    RUNTIME_TEST_CASE("errors name the operation and the file") {
        test::tmpdir dir;
        const std::string missing = dir.file("missing");
        std::string what;
        CHECK(co_await test::error_of(file::open(missing, open_flags::read), &what) == ENOENT);
        CHECK(what.find("open " + missing) != std::string::npos);
        file existing = co_await file::open(dir.file("x"), open_flags::write | open_flags::create);
        co_await existing.close();
        CHECK(co_await test::error_of(
                  file::open(dir.file("x"), open_flags::write | open_flags::create | open_flags::exclusive)) == EEXIST);
        CHECK(co_await test::error_of(file::open(dir.path(), open_flags::write)) == EISDIR);
    }

    RUNTIME_TEST_CASE("an injected fault fails the chosen write or sync with its errno") {
        test::tmpdir dir;
        file f =
            co_await file::open(dir.file("f"), open_flags::read_write | open_flags::create, {.dma = dma_mode::off});
        const auto data = pattern(1000, 5);
        fault_injection::fail_nth(fault_op::write, 2, ENOSPC);
        co_await f.write_at(0, data.data(), 100); // the first one goes through
        std::string what;
        CHECK(co_await test::error_of(f.write_at(100, data.data(), 100), &what) == ENOSPC);
        CHECK(what.find("write " + f.path()) != std::string::npos);
        co_await f.write_at(100, data.data(), 100); // only the second was armed
        CHECK(fault_injection::count(fault_op::write) == 3);

        fault_injection::fail_nth(fault_op::write, 1, EIO, 1, fault_effect::partial_write);
        CHECK(co_await test::error_of(f.write_at(200, data.data(), 800)) == EIO);
        CHECK(co_await f.size() == 600); // half of the torn write reached the file

        fault_injection::fail_nth(fault_op::sync, 1, EIO);
        CHECK(co_await test::error_of(f.datasync(), &what) == EIO);
        CHECK(what.find("fdatasync " + f.path()) != std::string::npos);
        fault_injection::reset();
        co_await f.datasync();
        co_await f.close();
    }

    RUNTIME_TEST_CASE("rename replaces the target and remove deletes the file") {
        test::tmpdir dir;
        for (const char* name : {"from", "to"}) {
            file f =
                co_await file::open(dir.file(name), open_flags::write | open_flags::create, {.dma = dma_mode::off});
            co_await f.write_at(0, name, std::strlen(name));
            co_await f.close();
        }
        co_await rename_file(dir.file("from"), dir.file("to"));
        CHECK(::access(dir.file("from").c_str(), F_OK) != 0);
        file f = co_await file::open(dir.file("to"), open_flags::read, {.dma = dma_mode::off});
        char buf[8] = {};
        CHECK(co_await f.read_at(0, buf, sizeof buf) == 4);
        CHECK(std::string(buf) == "from");
        co_await f.close();
        co_await remove_file(dir.file("to"));
        CHECK(::access(dir.file("to").c_str(), F_OK) != 0);
        co_await make_directory(dir.file("sub"));
        co_await make_directory(dir.file("sub")); // an existing directory is fine
        CHECK(parent_directory("/a/b/c") == "/a/b");
        CHECK(parent_directory("c") == ".");
        CHECK(parent_directory("/c") == "/");
    }

} // TEST_SUITE
