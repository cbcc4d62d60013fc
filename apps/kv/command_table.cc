#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "apps/kv/command.hh"
#include "apps/kv/commands/families.hh"

namespace percore::kv {

namespace {

/// Command names, folded to lower case, hashed in the same pass (FNV-1a): the lookup every request makes.
std::uint32_t fold_hash(std::string_view name, char* lower) noexcept {
    std::uint32_t h = 2166136261U;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const char l = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
        lower[i] = l;
        h = (h ^ static_cast<unsigned char>(l)) * 16777619U;
    }
    return h;
}

constexpr std::size_t max_name = 32;

struct registry {
    std::vector<const command_spec*> all;
    /// Open addressing, linear probing, at most a quarter full: a lookup is one hash and about one compare
    /// (std::unordered_map<string_view> cost ~3x the instructions: murmur hash, modulo, node chase).
    std::vector<const command_spec*> slots;
    std::size_t mask = 0;

    registry() {
        for (auto family : {
                 string_commands(),
                 key_commands(),
                 server_commands(),
                 list_commands(),
                 set_commands(),
                 hash_commands(),
                 zset_commands(),
                 zset_range_commands(),
             }) {
            for (const command_spec& s : family) {
                all.push_back(&s);
            }
        }
        std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->name < b->name; });
        std::size_t size = 16;
        while (size < all.size() * 4) {
            size *= 2;
        }
        slots.assign(size, nullptr);
        mask = size - 1;
        std::array<char, max_name> lower{};
        for (const command_spec* s : all) {
            std::size_t i = fold_hash(s->name, lower.data()) & mask;
            while (slots[i] != nullptr) {
                i = (i + 1) & mask;
            }
            slots[i] = s;
        }
    }
};

const registry& commands() {
    static const registry r;
    return r;
}

} // namespace

const command_spec* find_command(std::string_view name) noexcept {
    std::array<char, max_name> lower;
    if (name.size() > lower.size()) {
        return nullptr;
    }
    const auto& r = commands();
    for (std::size_t i = fold_hash(name, lower.data()) & r.mask;; i = (i + 1) & r.mask) {
        const command_spec* s = r.slots[i];
        if (s == nullptr) {
            return nullptr;
        }
        if (s->name.size() == name.size() && std::memcmp(s->name.data(), lower.data(), name.size()) == 0) {
            return s;
        }
    }
}

std::span<const command_spec* const> all_commands() noexcept {
    return commands().all;
}

void key_positions(const command_spec& spec, argv_t argv, std::vector<std::size_t>& out) {
    out.clear();
    if (spec.first_key <= 0) {
        return;
    }
    const auto argc = static_cast<int>(argv.size());
    const int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
    for (int i = spec.first_key; i <= last && i < argc; i += spec.key_step) {
        out.push_back(static_cast<std::size_t>(i));
    }
}

std::string arity_error(std::string_view name) {
    return "ERR wrong number of arguments for '" + std::string(name) + "' command";
}

} // namespace percore::kv
