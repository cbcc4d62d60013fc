#include "net/http/request.hh"

namespace percore::net::http {

const std::vector<header_field> request::no_headers;

namespace {
constexpr std::string_view method_names[] = {"GET",   "HEAD",    "POST",  "PUT",     "DELETE",
                                             "PATCH", "OPTIONS", "TRACE", "CONNECT", ""};

} // namespace

method parse_method(std::string_view name) noexcept {
    // Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method.
    for (std::size_t i = 0; i + 1 < std::size(method_names); ++i) {
        if (name == method_names[i]) {
            return static_cast<method>(i);
        }
    }
    return method::other;
}

std::string_view method_name(method m) noexcept {
    return method_names[static_cast<std::size_t>(m)];
}

std::string_view request::header(std::string_view name) const noexcept {
    for (const header_field& h : *_headers) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return {};
}

bool request::has_header(std::string_view name) const noexcept {
    for (const header_field& h : *_headers) {
        if (iequals(h.name, name)) {
            return true;
        }
    }
    return false;
}

std::string_view request::param(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < _param_count; ++i) {
        if (_params[i].first == name) {
            return _params[i].second;
        }
    }
    return {};
}

} // namespace percore::net::http
