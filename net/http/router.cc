#include "net/http/router.hh"

#include <stdexcept>

namespace percore::net::http {

router& router::add(method m, std::string_view pattern, handler h) {
    return add(method_name(m), pattern, std::move(h));
}

router& router::add(std::string_view method_text, std::string_view pattern, handler h) {
    const method m = parse_method(method_text);
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("http::router: a route starts with '/': \"" + std::string(pattern) + "\"");
    }
    if (method_text.empty()) {
        throw std::invalid_argument("http::router: a route needs a method");
    }
    route r{m, std::string(method_text), {}, std::move(h)};
    bool literal = true;
    std::size_t params = 0;
    std::string_view rest = pattern.substr(1);
    for (;;) {
        const std::size_t slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        segment s{std::string(seg), segment::kind::literal};
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            std::string_view name = seg.substr(1, seg.size() - 2);
            s.type = segment::kind::param;
            if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
                if (slash != std::string_view::npos) {
                    throw std::invalid_argument("http::router: {name...} must be the last segment: \"" +
                                                std::string(pattern) + "\"");
                }
                name.remove_suffix(3);
                s.type = segment::kind::rest;
            }
            if (name.empty() || name.find_first_of("{}/") != std::string_view::npos) {
                throw std::invalid_argument("http::router: bad parameter in \"" + std::string(pattern) + "\"");
            }
            s.text = std::string(name);
            literal = false;
            if (++params > request::max_params) {
                throw std::invalid_argument("http::router: too many parameters in \"" + std::string(pattern) + "\"");
            }
        }
        r.segments.push_back(std::move(s));
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    _routes.push_back(std::move(r));
    if (literal) {
        _literal[std::string(pattern)].push_back(_routes.size() - 1);
        _literal_few.clear();
        if (_literal.size() <= few) {
            _literal_few.assign(_literal.begin(), _literal.end());
        }
    } else {
        _patterns.push_back(_routes.size() - 1);
    }
    return *this;
}

const std::vector<std::size_t>* router::literal_routes(std::string_view path) const noexcept {
    if (_literal.size() <= few) {
        for (const auto& [p, routes] : _literal_few) {
            if (p == path) {
                return &routes;
            }
        }
        return nullptr;
    }
    auto it = _literal.find(path);
    return it == _literal.end() ? nullptr : &it->second;
}

bool router::match(const route& r, std::string_view path, request* req) {
    if (path.empty() || path.front() != '/') {
        return false;
    }
    std::string_view rest = path.substr(1);
    if (req != nullptr) {
        req->clear_params();
    }
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
        const segment& s = r.segments[i];
        if (s.type == segment::kind::rest) {
            if (req != nullptr) {
                req->add_param(s.text, rest);
            }
            return true;
        }
        const std::size_t slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        const bool last = i + 1 == r.segments.size();
        if (last != (slash == std::string_view::npos)) {
            return false;
        }
        if (s.type == segment::kind::literal) {
            if (seg != s.text) {
                return false;
            }
        } else {
            if (seg.empty()) {
                return false;
            }
            if (req != nullptr) {
                req->add_param(s.text, seg);
            }
        }
        if (!last) {
            rest.remove_prefix(slash + 1);
        }
    }
    return true;
}

bool router::method_matches(const route& r, const request& req, bool head_as_get) noexcept {
    if (r.m == method::other) {
        return req.method() == method::other && req.method_name() == r.method_text;
    }
    if (r.m == req.method()) {
        return true;
    }
    return head_as_get && req.method() == method::head && r.m == method::get;
}

const handler* router::find(request& req, int& status, std::string& allow) const {
    req.clear_params();
    if (const std::vector<std::size_t>* literal = literal_routes(req.path())) {
        for (bool head_as_get : {false, true}) {
            for (std::size_t i : *literal) {
                if (method_matches(_routes[i], req, head_as_get)) {
                    return &_routes[i].h;
                }
            }
        }
    }
    for (bool head_as_get : {false, true}) {
        for (std::size_t i : _patterns) {
            const route& r = _routes[i];
            if (method_matches(r, req, head_as_get) && match(r, req.path(), &req)) {
                return &r.h;
            }
        }
    }
    // No route for this method: 405 when another method has the path.
    allow.clear();
    auto note = [&allow](const route& r) {
        if (allow.find(r.method_text) == std::string::npos) {
            if (!allow.empty()) {
                allow += ", ";
            }
            allow += r.method_text;
            if (r.m == method::get && allow.find("HEAD") == std::string::npos) {
                allow += ", HEAD";
            }
        }
    };
    if (const std::vector<std::size_t>* literal = literal_routes(req.path())) {
        for (std::size_t i : *literal) {
            note(_routes[i]);
        }
    }
    for (std::size_t i : _patterns) {
        if (match(_routes[i], req.path(), nullptr)) {
            note(_routes[i]);
        }
    }
    req.clear_params();
    status = allow.empty() ? 404 : 405;
    return nullptr;
}

} // namespace percore::net::http
