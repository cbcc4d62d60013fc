#include "shard/cpuset.hh"

#include <charconv>

namespace percore {

namespace {

constexpr unsigned max_cpu = 65535;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

unsigned parse_cpu(std::string_view item, std::string_view number) {
    unsigned value = 0;
    const char* end = number.data() + number.size();
    auto [ptr, ec] = std::from_chars(number.data(), end, value);
    if (number.empty() || ec != std::errc() || ptr != end || value > max_cpu) {
        throw config_error("invalid cpuset item '" + std::string(item) + "': '" + std::string(number) +
                           "' is not a CPU number (0.." + std::to_string(max_cpu) + ")");
    }
    return value;
}

} // namespace

cpuset cpuset::parse(std::string_view text) {
    std::set<unsigned> cpus;
    std::string_view rest = text;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        if (item.empty()) {
            throw config_error("invalid cpuset '" + std::string(text) + "': empty item");
        }
        const auto dash = item.find('-');
        if (dash == std::string_view::npos) {
            cpus.insert(parse_cpu(item, item));
        } else {
            const unsigned first = parse_cpu(item, trim(item.substr(0, dash)));
            const unsigned last = parse_cpu(item, trim(item.substr(dash + 1)));
            if (last < first) {
                throw config_error("invalid cpuset item '" + std::string(item) + "': range ends before it starts");
            }
            for (unsigned c = first; c <= last; ++c) {
                cpus.insert(c);
            }
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
    return cpuset(std::move(cpus));
}

std::string cpuset::to_string() const {
    std::string out;
    auto it = _cpus.begin();
    while (it != _cpus.end()) {
        const unsigned first = *it;
        unsigned last = first;
        while (++it != _cpus.end() && *it == last + 1) {
            ++last;
        }
        if (!out.empty()) {
            out += ',';
        }
        out += std::to_string(first);
        if (last != first) {
            out += '-' + std::to_string(last);
        }
    }
    return out;
}

} // namespace percore
