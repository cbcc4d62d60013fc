#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "apps/kv/command.hh"
#include "apps/kv/commands/families.hh"

namespace percore::kv {

namespace {

struct registry {
    std::vector<const command_spec*> all;
    std::unordered_map<std::string_view, const command_spec*> by_name;
    std::unordered_map<const command_spec*, std::size_t> index; // position in `all`

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
                by_name.emplace(s.name, &s);
            }
        }
        std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->name < b->name; });
        for (std::size_t i = 0; i < all.size(); ++i) {
            index.emplace(all[i], i);
        }
    }
};

const registry& commands() {
    static const registry r;
    return r;
}

} // namespace

const command_spec* find_command(std::string_view name) noexcept {
    // Command names are short: fold into a stack buffer and look up the lower-case form.
    std::array<char, 32> lower{};
    if (name.size() > lower.size()) {
        return nullptr;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
    }
    const auto& r = commands();
    auto it = r.by_name.find(std::string_view(lower.data(), name.size()));
    return it == r.by_name.end() ? nullptr : it->second;
}

std::span<const command_spec* const> all_commands() noexcept {
    return commands().all;
}

std::size_t command_index(const command_spec& spec) noexcept {
    const auto& r = commands();
    auto it = r.index.find(&spec);
    return it == r.index.end() ? r.all.size() : it->second;
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
