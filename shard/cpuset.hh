/// \file
/// \brief CPU lists in the kernel's notation ("0-3,6"), parsed with errors that name the bad part.
///
/// \code
/// percore::cpuset cpus = percore::cpuset::parse("0-3,6");   // {0, 1, 2, 3, 6}
/// std::string s = cpus.to_string();                          // "0-3,6"
/// \endcode
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace percore {

/// A bad cpuset, shard count, config key or value; `what()` names the offending value.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class cpuset {
public:
    cpuset() = default;
    explicit cpuset(std::set<unsigned> cpus)
        : _cpus(std::move(cpus)) {}

    /// Parses "0-3,6" (ranges and single CPUs, comma separated, blanks allowed around items).
    /// \throws config_error naming the malformed item, for an empty list, or for a reversed range.
    static cpuset parse(std::string_view text);

    [[nodiscard]] bool empty() const noexcept { return _cpus.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return _cpus.size(); }
    [[nodiscard]] bool contains(unsigned cpu) const noexcept { return _cpus.count(cpu) != 0; }
    [[nodiscard]] const std::set<unsigned>& cpus() const noexcept { return _cpus; }
    /// Canonical kernel notation, ranges collapsed.
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const cpuset&, const cpuset&) = default;

private:
    std::set<unsigned> _cpus;
};

} // namespace percore
