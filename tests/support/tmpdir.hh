/// \file
/// \brief `tmpdir`: a scratch directory of its own for each test, removed with everything in it at scope end
/// (Seastar's tests/unit/tmpdir.hh).
///
/// \code
/// percore::test::tmpdir dir;
/// auto f = co_await file::open(dir.file("data"), open_flags::write | open_flags::create);
/// \endcode
///
/// The parent is $PERCORE_TEST_TMPDIR, else $TMPDIR, else /tmp. Point it at a disk-backed file system to test
/// O_DIRECT (tmpfs behaves differently), or at /dev/shm for tmpfs.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace percore::test {

class tmpdir {
public:
    explicit tmpdir(std::string_view parent = default_parent()) {
        std::string templ = std::string(parent) + "/percore-test-XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) {
            throw std::system_error(errno, std::system_category(), "mkdtemp " + templ);
        }
        _path = buf.data();
    }
    tmpdir(const tmpdir&) = delete;
    tmpdir& operator=(const tmpdir&) = delete;
    ~tmpdir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }

    [[nodiscard]] const std::string& path() const noexcept { return _path; }
    /// `path() + "/" + name`.
    [[nodiscard]] std::string file(std::string_view name) const { return _path + "/" + std::string(name); }

    static std::string default_parent() {
        for (const char* var : {"PERCORE_TEST_TMPDIR", "TMPDIR"}) {
            if (const char* v = std::getenv(var); v != nullptr && *v != '\0') {
                return v;
            }
        }
        return "/tmp";
    }

private:
    std::string _path;
};

} // namespace percore::test
