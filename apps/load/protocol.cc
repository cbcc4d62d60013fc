#include "apps/load/protocol.hh"

#include <stdexcept>

#include <fmt/format.h>

#include "apps/load/echo_protocol.hh"
#include "apps/load/http_protocol.hh"
#include "apps/load/resp_protocol.hh"

namespace percore::load {

namespace {

struct registered {
    std::string_view name;
    std::unique_ptr<protocol> (*make)(const protocol_options&);
};

// A new protocol: its make_* function here, nothing else (the command line and the driver follow).
constexpr registered known[] = {
    {"echo", &make_echo_protocol},
    {"resp", &make_resp_protocol},
    {"http", &make_http_protocol},
};

} // namespace

std::string printable(std::string_view bytes) {
    std::string out;
    for (char ch : bytes) {
        const auto u = static_cast<unsigned char>(ch);
        if (u >= 0x20 && u < 0x7f && ch != '"' && ch != '\\') {
            out.push_back(ch);
        } else {
            out += fmt::format("\\x{:02x}", u);
        }
    }
    return out;
}

task<std::string> codec::handshake(net::input_stream&, net::output_stream&) {
    co_return std::string();
}

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
