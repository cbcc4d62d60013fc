#include "apps/load/protocol.hh"

#include <stdexcept>

#include <fmt/format.h>

#include "apps/load/echo_protocol.hh"

namespace percore::load {

namespace {

struct registered {
    std::string_view name;
    std::unique_ptr<protocol> (*make)(const protocol_options&);
};

// A new protocol: its make_* function here, nothing else (the command line and the driver follow).
constexpr registered known[] = {
    {"echo", &make_echo_protocol},
};

} // namespace

std::vector<std::string> protocol_names() {
    std::vector<std::string> names;
    for (const auto& p : known) {
        names.emplace_back(p.name);
    }
    return names;
}

std::unique_ptr<protocol> make_protocol(std::string_view name, const protocol_options& options) {
    for (const auto& p : known) {
        if (p.name == name) {
            return p.make(options);
        }
    }
    throw std::invalid_argument(fmt::format("unknown protocol '{}'", name));
}

} // namespace percore::load
