#include "storage/fallbacks.hh"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace percore::storage {

namespace {

constexpr struct {
    std::string_view name;
    fallback which;
} names[] = {
    {"ftruncate", fallback::ftruncate},     {"dioalign", fallback::dioalign}, {"dma", fallback::dma},
    {"preallocate", fallback::preallocate}, {"crc32c", fallback::crc32c},
};

unsigned parse(const char* value) noexcept {
    unsigned mask = 0;
    std::string_view rest = value != nullptr ? value : "";
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view name = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (name.empty()) {
            continue;
        }
        const bool all = name == "all";
        bool known = all;
        for (const auto& n : names) {
            if (all || n.name == name) {
                mask |= static_cast<unsigned>(n.which);
                known = true;
            }
        }
        if (!known) {
            std::fprintf(stderr, "percore: PERCORE_STORAGE_FALLBACKS: unknown fallback \"%.*s\" ignored\n",
                         static_cast<int>(name.size()), name.data());
        }
    }
    return mask;
}

unsigned forced_mask() noexcept {
    // Read once: every choice of the process sees the same answer (a thread-safe static; no I/O).
    static const unsigned mask = parse(std::getenv("PERCORE_STORAGE_FALLBACKS"));
    return mask;
}

} // namespace

bool fallback_forced(fallback f) noexcept {
    return (forced_mask() & static_cast<unsigned>(f)) != 0;
}

std::string forced_fallbacks() {
    std::string out;
    for (const auto& n : names) {
        if (fallback_forced(n.which)) {
            out += out.empty() ? "" : ",";
            out += n.name;
        }
    }
    return out;
}

} // namespace percore::storage
