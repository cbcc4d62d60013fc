#include "apps/kv/key_hash.hh"

#include <random>

namespace percore::kv::detail {

std::uint64_t hash_seed() noexcept {
    try {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
        return reinterpret_cast<std::uintptr_t>(&k0) * k1; // ASLR, at least
    }
}

} // namespace percore::kv::detail
