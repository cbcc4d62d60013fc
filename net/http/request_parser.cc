#include "net/http/request_parser.hh"

#include <cstring>

namespace percore::net::http {

namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
// / DIGIT / ALPHA
constexpr bool is_tchar(unsigned char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_tchar(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

// Field values: VCHAR, obs-text, SP and HTAB; no other control character (a bare CR, NUL...).
bool is_field_value(std::string_view s) noexcept {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// The line [from, '\n') without its CR; npos when no '\n' yet.
std::size_t find_lf(std::string_view data, std::size_t from) noexcept {
    if (from >= data.size()) {
        return std::string_view::npos;
    }
    const void* p = std::memchr(data.data() + from, '\n', data.size() - from);
    return p == nullptr ? std::string_view::npos : static_cast<std::size_t>(static_cast<const char*>(p) - data.data());
}

std::string_view line_at(std::string_view data, std::size_t from, std::size_t lf) noexcept {
    std::string_view line = data.substr(from, lf - from);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

head_result error(int status) noexcept {
    return {parse_status::error, 0, status};
}

/// Splits the request target into path and query. \return false when it is no valid form of target.
bool split_target(std::string_view target, method m, std::string_view& path, std::string_view& query) noexcept {
    for (char ch : target) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7f || c == '#') {
            return false;
        }
    }
    std::string_view rest = target;
    if (m == method::connect) {
        path = target; // authority-form: no path; routes will not match it
        query = {};
        return true;
    }
    if (target == "*") {
        path = target;
        query = {};
        return m == method::options;
    }
    if (rest.front() != '/') {
        // absolute-form (RFC 9112 3.2.2: a server must accept it): drop the scheme and the authority
        std::size_t skip = 0;
        if (starts_with_icase(rest, "http://")) {
            skip = 7;
        } else if (starts_with_icase(rest, "https://")) {
            skip = 8;
        } else {
            return false;
        }
        rest.remove_prefix(skip);
        const std::size_t slash = rest.find_first_of("/?");
        if (slash == 0 || rest.empty()) {
            return false; // no authority
        }
        if (slash == std::string_view::npos || rest[slash] == '?') {
            path = "/";
            query = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
            return true;
        }
        rest.remove_prefix(slash);
    }
    const std::size_t q = rest.find('?');
    path = rest.substr(0, q);
    query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
    return true;
}

} // namespace

head_result parse_request_head(std::string_view data, const limits& lim, request& req,
                               std::vector<header_field>& fields) {
    fields.clear();
    // RFC 9112 2.2: empty lines before the request line are ignored.
    std::size_t pos = 0;
    while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) {
        if (data[pos] == '\n') {
            ++pos;
        } else if (pos + 1 == data.size()) {
            return {parse_status::incomplete, pos, 0};
        } else if (data[pos + 1] == '\n') {
            pos += 2;
        } else {
            return error(400);
        }
    }
    const std::size_t line_start = pos;
    const std::size_t line_lf = find_lf(data, line_start);
    if (line_lf == std::string_view::npos) {
        // One byte of slack: the line's CR may be here already, and it does not count.
        if (data.size() - line_start > lim.max_request_line + 1) {
            return error(414);
        }
        return {parse_status::incomplete, pos, 0};
    }
    const std::string_view line = line_at(data, line_start, line_lf);
    if (line.size() > lim.max_request_line) {
        return error(414);
    }
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) {
        return error(400);
    }
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
        return error(400);
    }
    const std::string_view name = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(name) || target.empty()) {
        return error(400);
    }
    int minor = 0;
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.' && version[5] >= '0' &&
        version[5] <= '9' && version[7] >= '0' && version[7] <= '9') {
        if (version[5] != '1') {
            return error(505);
        }
        minor = version[7] == '0' ? 0 : 1; // 1.2+ are 1.1 to us (RFC 9110 2.5: the highest minor we implement)
    } else {
        return error(400);
    }
    const method m = parse_method(name);
    std::string_view path;
    std::string_view query;
    if (!split_target(target, m, path, query)) {
        return error(400);
    }
    req.set_line(m, name, target, path, query, minor);

    const std::size_t headers_start = line_lf + 1;
    std::size_t p = headers_start;
    for (;;) {
        const std::size_t lf = find_lf(data, p);
        if (lf == std::string_view::npos) {
            if (data.size() - headers_start > lim.max_header_bytes) {
                return error(431);
            }
            return {parse_status::incomplete, line_start, 0};
        }
        if (lf + 1 - headers_start > lim.max_header_bytes) {
            return error(431);
        }
        const std::string_view field = line_at(data, p, lf);
        p = lf + 1;
        if (field.empty()) {
            break;
        }
        if (field.front() == ' ' || field.front() == '\t') {
            return error(400); // obsolete line folding (RFC 9112 5.2)
        }
        const std::size_t colon = field.find(':');
        if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) {
            return error(400); // also whitespace between the name and the colon (RFC 9112 5.1)
        }
        const std::string_view value = trim_ows(field.substr(colon + 1));
        if (!is_field_value(value)) {
            return error(400);
        }
        if (fields.size() == lim.max_headers) {
            return error(431);
        }
        fields.push_back({field.substr(0, colon), value});
    }
    req.set_headers(&fields);
    return {parse_status::complete, p, 0};
}

namespace {

/// Calls fn(token) for each comma-separated element of a list header, trimmed, empty ones skipped.
template <typename Fn>
void for_each_element(std::string_view list, Fn&& fn) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view element = trim_ows(list.substr(0, comma));
        if (!element.empty()) {
            fn(element);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
}

/// Content-Length: 1*DIGIT; a list of equal values is allowed (RFC 9110 8.6). \return false when malformed
bool parse_length(std::string_view value, bool& seen, std::uint64_t& length) noexcept {
    bool ok = true;
    bool any = false;
    for_each_element(value, [&](std::string_view v) {
        any = true;
        if (v.size() > 18) {
            ok = false; // not representable (and far over any limit)
            return;
        }
        std::uint64_t n = 0;
        for (char c : v) {
            if (c < '0' || c > '9') {
                ok = false;
                return;
            }
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (seen && n != length) {
            ok = false;
        }
        seen = true;
        length = n;
    });
    return ok && any;
}

} // namespace

framing parse_framing(const request& req, const limits& lim) noexcept {
    framing f;
    bool has_length = false;
    bool has_te = false;
    bool chunked_last = false;
    bool chunked_twice = false;
    bool other_coding = false;
    bool close = false;
    bool keep_alive_token = false;
    int hosts = 0;
    int error = 0;
    for (const header_field& h : req.headers()) {
        if (iequals(h.name, "content-length")) {
            if (!parse_length(h.value, has_length, f.content_length)) {
                error = 400;
            }
        } else if (iequals(h.name, "transfer-encoding")) {
            has_te = true;
            for_each_element(h.value, [&](std::string_view coding) {
                if (chunked_last) {
                    // chunked must be the last coding (RFC 9112 6.1): anything after it is an error
                    chunked_twice = true;
                }
                if (iequals(coding, "chunked")) {
                    chunked_last = true;
                } else {
                    other_coding = true;
                }
            });
        } else if (iequals(h.name, "host")) {
            ++hosts;
        } else if (iequals(h.name, "connection")) {
            for_each_element(h.value, [&](std::string_view option) {
                if (iequals(option, "close")) {
                    close = true;
                } else if (iequals(option, "keep-alive")) {
                    keep_alive_token = true;
                }
            });
        } else if (iequals(h.name, "expect") && req.version_minor() >= 1) {
            // RFC 9110 10.1.1: an HTTP/1.0 request's expectation is ignored
            if (iequals(h.value, "100-continue")) {
                f.expect_continue = true;
            } else if (error == 0) {
                error = 417;
            }
        }
    }
    f.keep_alive = req.version_minor() >= 1 ? !close : keep_alive_token && !close;
    if (error == 0 && has_te) {
        if (has_length || req.version_minor() == 0 || chunked_twice) {
            error = 400; // smuggling vectors: both framings, or chunked in HTTP/1.0 (RFC 9112 6.1, 6.3)
        } else if (other_coding) {
            error = 501; // gzip, deflate...: codings this server does not implement
        } else if (!chunked_last) {
            error = 400;
        } else {
            f.body = framing::body_kind::chunked;
        }
    }
    if (error == 0 && (hosts > 1 || (hosts == 0 && req.version_minor() >= 1))) {
        error = 400; // RFC 9112 3.2: exactly one Host in HTTP/1.1
    }
    if (error == 0 && has_length) {
        if (f.content_length > lim.max_body_size) {
            error = 413;
        } else if (f.content_length > 0) {
            f.body = framing::body_kind::length;
        }
    }
    if (error == 0 && f.body == framing::body_kind::chunked && lim.max_body_size == 0) {
        error = 413;
    }
    f.error = error;
    return f;
}

chunk_result chunked_decoder::feed(std::string_view in, std::string& out) {
    if (_failed) {
        return {parse_status::error, 0, 400};
    }
    std::size_t i = 0;
    while (i < in.size()) {
        const char c = in[i];
        switch (_state) {
        case state::size: {
            int digit = -1;
            if (c >= '0' && c <= '9') {
                digit = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                digit = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                digit = c - 'A' + 10;
            }
            if (++_line > _lim->max_chunk_line) {
                return fail(400, i);
            }
            if (digit >= 0) {
                if (_chunk > (std::uint64_t{1} << 56)) {
                    return fail(413, i);
                }
                _chunk = _chunk * 16 + static_cast<std::uint64_t>(digit);
                _size_digits = true;
                ++i;
                continue;
            }
            if (c == ';' || c == ' ' || c == '\t') {
                _state = state::ext;
                ++i;
                continue;
            }
            if (c == '\r') {
                _state = state::size_lf;
                ++i;
                continue;
            }
            if (c == '\n') {
                _state = state::size_lf;
                continue; // handled as the LF of the line
            }
            return fail(400, i);
        }
        case state::ext:
            if (++_line > _lim->max_chunk_line) {
                return fail(400, i);
            }
            if (c == '\r') {
                _state = state::size_lf;
            } else if (c == '\n') {
                _state = state::size_lf;
                continue;
            } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
                return fail(400, i);
            }
            ++i;
            continue;
        case state::size_lf:
            if (c != '\n' || !_size_digits) {
                return fail(400, i);
            }
            ++i;
            _line = 0;
            _size_digits = false;
            if (_chunk == 0) {
                _state = state::trailer;
                _trailer_empty = true;
            } else if (_chunk > _lim->max_body_size - _total) {
                return fail(413, i);
            } else {
                _state = state::data;
            }
            continue;
        case state::data: {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(_chunk, in.size() - i));
            out.append(in.data() + i, n);
            i += n;
            _chunk -= n;
            _total += n;
            if (_chunk == 0) {
                _state = state::data_cr;
            }
            continue;
        }
        case state::data_cr:
            if (c == '\r') {
                _state = state::data_lf;
                ++i;
            } else if (c == '\n') {
                _state = state::data_lf;
            } else {
                return fail(400, i);
            }
            continue;
        case state::data_lf:
            if (c != '\n') {
                return fail(400, i);
            }
            ++i;
            _state = state::size;
            continue;
        case state::trailer:
            if (c == '\r') {
                _state = state::trailer_lf;
                ++i;
                continue;
            }
            if (c == '\n') {
                _state = state::trailer_lf;
                continue;
            }
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
                return fail(400, i);
            }
            _trailer_empty = false;
            if (++_trailers > _lim->max_header_bytes) {
                return fail(431, i);
            }
            ++i;
            continue;
        case state::trailer_lf:
            if (c != '\n') {
                return fail(400, i);
            }
            ++i;
            if (_trailer_empty) {
                _state = state::done;
                return {parse_status::complete, i, 0};
            }
            _trailer_empty = true;
            _state = state::trailer;
            continue;
        case state::done:
            return {parse_status::complete, i, 0};
        }
    }
    if (_state == state::done) {
        return {parse_status::complete, i, 0};
    }
    return {parse_status::incomplete, i, 0};
}

} // namespace percore::net::http
