#include "storage/fault_injection.hh"

namespace percore::storage::fault_injection {

void fail_nth(fault_op op, std::uint64_t n, int error, std::uint64_t times, fault_effect effect) noexcept {
    detail::fault_slot& s = detail::tl_faults[static_cast<unsigned>(op)];
    s = {};
    if (n == 0 || times == 0 || error <= 0) {
        return;
    }
    s.first = n;
    s.last = n + times - 1;
    s.error = error;
    s.effect = effect;
}

void reset() noexcept {
    for (auto& s : detail::tl_faults) {
        s = {};
    }
}

std::uint64_t count(fault_op op) noexcept {
    return detail::tl_faults[static_cast<unsigned>(op)].seen;
}

} // namespace percore::storage::fault_injection
