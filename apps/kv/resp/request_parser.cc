#include "apps/kv/resp/request_parser.hh"

#include <cstring>
#include <limits>

namespace percore::kv::resp {

namespace {

// Below this, the tail of a receive buffer that holds an incomplete command is copied out at once (the receive
// buffer, a slot of the shard's ring, goes back); above it a large value is being received anyway.
constexpr std::size_t reserve_threshold = 32 * 1024;

/// Redis's string2ll: an optional '-', then digits without a leading zero (but "0"); no '+', no spaces.
bool parse_ll(std::string_view s, std::int64_t& out) noexcept {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    std::size_t i = 0;
    bool negative = false;
    if (s[0] == '-') {
        negative = true;
        i = 1;
        if (s.size() == 1) {
            return false;
        }
    }
    if (s[i] == '0') {
        if (s.size() == 1) {
            out = 0;
            return true;
        }
        return false;
    }
    std::uint64_t v = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') {
            return false;
        }
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (negative) {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
            return false;
        }
        out = static_cast<std::int64_t>(0 - v);
    } else {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return false;
        }
        out = static_cast<std::int64_t>(v);
    }
    return true;
}

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return (c | 0x20) - 'a' + 10;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

/// Redis's sdssplitargs: words separated by spaces; "double quotes" with \n \r \t \b \a \\ \" \xHH escapes,
/// 'single quotes' with \' only; a closing quote must be followed by a space or the end. \return false for
/// unbalanced quotes.
bool split_args(std::string_view line, std::vector<std::string>& out) {
    std::size_t p = 0;
    for (;;) {
        while (p < line.size() && is_space(line[p])) {
            ++p;
        }
        if (p == line.size()) {
            return true;
        }
        std::string current;
        bool in_dq = false;
        bool in_sq = false;
        bool done = false;
        while (!done) {
            if (in_dq) {
                if (p == line.size()) {
                    return false;
                }
                if (line[p] == '\\' && p + 3 < line.size() && line[p + 1] == 'x' && is_hex(line[p + 2]) &&
                    is_hex(line[p + 3])) {
                    current += static_cast<char>(hex_value(line[p + 2]) * 16 + hex_value(line[p + 3]));
                    p += 3;
                } else if (line[p] == '\\' && p + 1 < line.size()) {
                    ++p;
                    switch (line[p]) {
                    case 'n':
                        current += '\n';
                        break;
                    case 'r':
                        current += '\r';
                        break;
                    case 't':
                        current += '\t';
                        break;
                    case 'b':
                        current += '\b';
                        break;
                    case 'a':
                        current += '\a';
                        break;
                    default:
                        current += line[p];
                        break;
                    }
                } else if (line[p] == '"') {
                    if (p + 1 < line.size() && !is_space(line[p + 1])) {
                        return false; // closing quote must be followed by a space or nothing at all
                    }
                    done = true;
                } else {
                    current += line[p];
                }
            } else if (in_sq) {
                if (p == line.size()) {
                    return false;
                }
                if (line[p] == '\\' && p + 1 < line.size() && line[p + 1] == '\'') {
                    ++p;
                    current += '\'';
                } else if (line[p] == '\'') {
                    if (p + 1 < line.size() && !is_space(line[p + 1])) {
                        return false;
                    }
                    done = true;
                } else {
                    current += line[p];
                }
            } else {
                if (p == line.size()) {
                    done = true;
                    break;
                }
                switch (line[p]) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                case '\0':
                    done = true;
                    break;
                case '"':
                    in_dq = true;
                    break;
                case '\'':
                    in_sq = true;
                    break;
                default:
                    current += line[p];
                    break;
                }
            }
            if (p < line.size()) {
                ++p;
            }
        }
        out.push_back(std::move(current));
    }
}

} // namespace

void request_parser::feed(net::buffer chunk) {
    if (chunk.empty()) {
        return;
    }
    if (_in_pending) {
        _pending.append(chunk.view());
        return; // the receive buffer goes back at once
    }
    _chunk = std::move(chunk);
    _pos = 0;
}

std::string_view request_parser::current() const noexcept {
    return _in_pending ? std::string_view(_pending) : _chunk.view();
}

parse_status request_parser::fail(std::string message) {
    _error = std::move(message);
    return parse_status::error;
}

void request_parser::to_pending(std::string_view data) {
    // An incomplete command at the end of a receive buffer: copy it out, with offsets made relative to it.
    const std::size_t start = _cmd_start;
    if (_bulk > static_cast<std::int64_t>(reserve_threshold)) {
        _pending.reserve(data.size() - start + static_cast<std::size_t>(_bulk) + 2);
    }
    _pending.assign(data.substr(start));
    for (arg_ref& a : _args) {
        a.offset -= start;
    }
    _pos -= start;
    _cmd_start = 0;
    _in_pending = true;
    if (!_chunk.empty()) {
        _held.push_back(std::move(_chunk)); // commands already returned may point into it
    }
}

parse_status request_parser::next(std::vector<std::string_view>& argv) {
    argv.clear();
    if (failed()) {
        return parse_status::error;
    }
    const std::string_view data = current();
    for (;;) {
        if (_pos == data.size() && _argc == 0) {
            // Everything consumed: hold the chunk for the commands that point into it.
            if (!_in_pending && !_chunk.empty()) {
                _held.push_back(std::move(_chunk));
            }
            return parse_status::need_more;
        }
        const parse_status s = parse(data, argv);
        if (s == parse_status::command) {
            if (argv.empty()) {
                continue; // "*0", "*-1" or a blank inline line: nothing to run
            }
            return s;
        }
        if (s == parse_status::need_more) {
            if (!_in_pending) {
                to_pending(data);
            }
            if (buffered() > _limits.max_query_buffer) {
                _silent = true;
                return fail("ERR query buffer limit reached");
            }
            return s;
        }
        return s;
    }
}

parse_status request_parser::parse(std::string_view data, std::vector<std::string_view>& argv) {
    if (_argc == 0) {
        _cmd_start = _pos;
        if (data[_pos] != '*') {
            return parse_inline(data, argv);
        }
        const char* base = data.data() + _pos;
        const std::size_t avail = data.size() - _pos;
        const void* cr = std::memchr(base, '\r', avail);
        if (cr == nullptr) {
            if (avail > _limits.max_inline) {
                return fail("ERR Protocol error: too big mbulk count string");
            }
            return parse_status::need_more;
        }
        const std::size_t line = static_cast<std::size_t>(static_cast<const char*>(cr) - base);
        if (line + 2 > avail) {
            return parse_status::need_more; // the '\n' has not arrived
        }
        std::int64_t n = 0;
        if (!parse_ll(std::string_view(base + 1, line - 1), n) || n > static_cast<std::int64_t>(_limits.max_args)) {
            return fail("ERR Protocol error: invalid multibulk length");
        }
        if (n > 10 && !_authenticated) {
            return fail("ERR Protocol error: unauthenticated multibulk length");
        }
        _pos += line + 2;
        if (n <= 0) {
            return parse_status::command; // empty request: nothing to run
        }
        _argc = n;
        _bulk = -1;
        _args.clear();
        _args.reserve(static_cast<std::size_t>(std::min<std::int64_t>(n, 1024)));
    }
    while (static_cast<std::int64_t>(_args.size()) < _argc) {
        if (_bulk < 0) {
            const char* base = data.data() + _pos;
            const std::size_t avail = data.size() - _pos;
            const void* cr = std::memchr(base, '\r', avail);
            if (cr == nullptr) {
                if (avail > _limits.max_inline) {
                    return fail("ERR Protocol error: too big bulk count string");
                }
                return parse_status::need_more;
            }
            const std::size_t line = static_cast<std::size_t>(static_cast<const char*>(cr) - base);
            if (line + 2 > avail) {
                return parse_status::need_more;
            }
            if (base[0] != '$') {
                return fail(std::string("ERR Protocol error: expected '$', got '") + base[0] + "'");
            }
            std::int64_t len = 0;
            if (!parse_ll(std::string_view(base + 1, line - 1), len) || len < 0 ||
                static_cast<std::uint64_t>(len) > _limits.max_bulk) {
                return fail("ERR Protocol error: invalid bulk length");
            }
            if (len > 16384 && !_authenticated) {
                return fail("ERR Protocol error: unauthenticated bulk length");
            }
            _pos += line + 2;
            _bulk = len;
            if (_in_pending && _bulk > static_cast<std::int64_t>(reserve_threshold)) {
                _pending.reserve(_pos + static_cast<std::size_t>(_bulk) + 2);
            }
        }
        const auto need = static_cast<std::size_t>(_bulk) + 2;
        if (data.size() - _pos < need) {
            return parse_status::need_more;
        }
        // Like Redis, the two bytes after the payload are skipped, not checked.
        _args.push_back({_pos, static_cast<std::size_t>(_bulk)});
        _pos += need;
        _bulk = -1;
    }
    argv.reserve(_args.size());
    for (const arg_ref& a : _args) {
        argv.emplace_back(data.data() + a.offset, a.length);
    }
    _argc = 0;
    _args.clear();
    return parse_status::command;
}

parse_status request_parser::parse_inline(std::string_view data, std::vector<std::string_view>& argv) {
    const char* base = data.data() + _pos;
    const std::size_t avail = data.size() - _pos;
    const void* nl = std::memchr(base, '\n', avail);
    if (nl == nullptr) {
        if (avail > _limits.max_inline) {
            return fail("ERR Protocol error: too big inline request");
        }
        return parse_status::need_more;
    }
    std::size_t line = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
    const std::size_t consumed = line + 1;
    if (line > 0 && base[line - 1] == '\r') {
        --line;
    }
    std::vector<std::string> words;
    if (!split_args(std::string_view(base, line), words)) {
        return fail("ERR Protocol error: unbalanced quotes in request");
    }
    _pos += consumed;
    for (std::string& w : words) {
        _owned.push_back(std::move(w));
        argv.emplace_back(_owned.back());
    }
    return parse_status::command;
}

void request_parser::release_consumed() noexcept {
    _held.clear();
    _owned.clear();
    if (!_in_pending) {
        return;
    }
    // Drop what was parsed; keep the incomplete command (its offsets move with it).
    if (_argc == 0) {
        _cmd_start = _pos; // between commands: nothing of the next one parsed yet
    }
    if (_cmd_start > 0) {
        _pending.erase(0, _cmd_start);
        for (arg_ref& a : _args) {
            a.offset -= _cmd_start;
        }
        _pos -= _cmd_start;
        _cmd_start = 0;
    }
    if (_pending.empty()) {
        std::string().swap(_pending); // a large value's buffer goes back
        _in_pending = false;
        _pos = 0;
    }
}

} // namespace percore::kv::resp
