#include "apps/load/resp_protocol.hh"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "apps/load/resp_reader.hh"
#include "apps/load/resp_workload.hh"

namespace percore::load {

namespace {

using resp::command;
using resp::key_prefix;

// Values up to this size are built in the scratch area with the rest of the request and copied into the stream's
// staging chunks once; larger ones get a buffer of their own that the stream sends without a copy.
constexpr std::size_t copy_limit = 8 * 1024;
// Expected value bytes are generated in blocks of this size and compared with memcmp.
constexpr std::size_t check_block = 512;
constexpr std::size_t npos = std::string_view::npos;

bool is_integer(std::string_view s) noexcept {
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// Where the value bytes of `key` at [offset, offset + got.size()) first differ from `got`: npos if nowhere.
std::size_t first_difference(std::uint64_t key, std::size_t offset, std::string_view got) noexcept {
    char expected[check_block];
    for (std::size_t done = 0; done < got.size();) {
        const std::size_t n = std::min(check_block, got.size() - done);
        resp::fill_value(key, offset + done, expected, n);
        if (std::memcmp(expected, got.data() + done, n) != 0) {
            std::size_t i = 0;
            while (expected[i] == got[done + i]) {
                ++i;
            }
            return done + i;
        }
        done += n;
    }
    return npos;
}

class resp_codec final : public codec {
public:
    resp_codec(const resp::workload& w, std::uint64_t connection_id, const std::string& auth)
        : _w(w)
        , _conn(connection_id)
        , _auth(auth) {
        _req.reserve(256 + std::min(w.value_size(), copy_limit) *
                               (std::find(w.commands().begin(), w.commands().end(), command::mset) != w.commands().end()
                                    ? w.mset_keys()
                                    : 1));
    }

    net::output_stream::write_awaiter write_request(net::output_stream& out, std::uint64_t seq) override {
        const command cmd = _w.commands()[_w.kind_of(_conn, seq)];
        const unsigned tag = _w.tag_of(_conn, seq);
        _req.clear();
        switch (cmd) {
        case command::ping:
            _req.append("*1\r\n$4\r\nPING\r\n");
            break;
        case command::set:
            _req.append("*3\r\n$3\r\nSET\r\n");
            append_key(key_prefix::key, _w.key_of(_conn, seq, 0), tag);
            append_value(out, _w.key_of(_conn, seq, 0));
            break;
        case command::get:
            _req.append("*2\r\n$3\r\nGET\r\n");
            append_key(key_prefix::key, _w.key_of(_conn, seq, 0), tag);
            break;
        case command::incr:
            _req.append("*2\r\n$4\r\nINCR\r\n");
            append_key(key_prefix::counter, _w.key_of(_conn, seq, 0), tag);
            break;
        case command::del:
            _req.append("*2\r\n$3\r\nDEL\r\n");
            append_key(key_prefix::key, _w.key_of(_conn, seq, 0), tag);
            break;
        case command::mset:
            append_header('*', 1 + 2 * std::size_t{_w.mset_keys()});
            _req.append("$4\r\nMSET\r\n");
            for (unsigned j = 0; j < _w.mset_keys(); ++j) {
                append_key(key_prefix::key, _w.key_of(_conn, seq, j), tag);
                append_value(out, _w.key_of(_conn, seq, j));
            }
            break;
        }
        return out.write(std::string_view(_req));
    }

    task<check_result> read_reply(net::input_stream& in, std::uint64_t seq) override {
        check_result r;
        r.kind = _w.kind_of(_conn, seq);
        const command cmd = _w.commands()[r.kind];
        resp::resp_reader rd(in, _scratch);
        try {
            std::string_view head;
            if (!rd.try_line(head)) {
                head = co_await rd.line();
            }
            if (head.empty()) {
                throw resp::reply_error("an empty reply line");
            }
            if (head[0] == '-') {
                r.error = fmt::format("{}: server error \"{}\"", describe(seq), printable(head.substr(1)));
                r.in_step = true;
                co_return r;
            }
            switch (cmd) {
            case command::ping:
                expect(r, seq, head, "+PONG");
                break;
            case command::set:
            case command::mset:
                expect(r, seq, head, "+OK");
                break;
            case command::incr:
                if (head[0] != ':' || !is_integer(head.substr(1))) {
                    unexpected(r, seq, head, "an integer");
                }
                break;
            case command::del:
                if (head != ":0" && head != ":1") {
                    unexpected(r, seq, head, ":0 or :1");
                }
                break;
            case command::get:
                co_await check_get(rd, head, seq, r);
                break;
            }
        } catch (const resp::reply_error& e) {
            r.error = fmt::format("{}: {}", describe(seq), e.what());
            r.in_step = false;
        }
        co_return r;
    }

    task<std::string> handshake(net::input_stream& in, net::output_stream& out) override {
        if (_auth.empty()) {
            co_return std::string();
        }
        _req.clear();
        _req.append("*2\r\n$4\r\nAUTH\r\n");
        append_bulk(_auth);
        co_await out.write(std::string_view(_req));
        co_await out.flush();
        resp::resp_reader rd(in, _scratch);
        try {
            std::string_view head = co_await rd.line();
            if (head != "+OK") {
                co_return fmt::format("AUTH: the server answered \"{}\"", printable(head));
            }
        } catch (const resp::reply_error& e) {
            co_return fmt::format("AUTH: {}", e.what());
        }
        co_return std::string();
    }

private:
    void append_header(char type, std::size_t n) {
        char digits[24];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
        _req.push_back(type);
        _req.append(digits, end);
        _req.append("\r\n");
    }
    void append_bulk(std::string_view s) {
        append_header('$', s.size());
        _req.append(s);
        _req.append("\r\n");
    }
    void append_key(key_prefix p, std::uint64_t key, unsigned tag) {
        char name[resp::max_key_length];
        append_bulk(std::string_view(name, _w.format_key(p, key, tag, name)));
    }
    void append_value(net::output_stream& out, std::uint64_t key) {
        const std::size_t size = _w.value_size();
        append_header('$', size);
        if (size <= copy_limit) {
            const std::size_t at = _req.size();
            _req.resize(at + size);
            resp::fill_value(key, 0, _req.data() + at, size);
        } else {
            // The stream keeps the order of copied and zero-copy writes; only the last write's awaiter is needed.
            (void)out.write(std::string_view(_req));
            _req.clear();
            net::buffer b(size);
            resp::fill_value(key, 0, b.writable(), size);
            (void)out.write(std::move(b));
        }
        _req.append("\r\n");
    }

    task<> check_get(resp::resp_reader& rd, std::string_view head, std::uint64_t seq, check_result& r) {
        if (head == "$-1") {
            r.nil = true;
            co_return;
        }
        if (head[0] != '$') {
            unexpected(r, seq, head, "a bulk string or nil");
            co_return;
        }
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(head.data() + 1, head.data() + head.size(), n);
        if (ec != std::errc() || end != head.data() + head.size()) {
            throw resp::reply_error(fmt::format("not a RESP bulk header: \"{}\"", printable(head)));
        }
        const std::size_t size = _w.value_size();
        const std::uint64_t key = _w.key_of(_conn, seq, 0);
        std::size_t bad = npos;
        char got = 0;
        std::string_view all;
        if (rd.try_take(n + 2, all)) { // the usual case: the whole value is at hand
            if (all.substr(n) != "\r\n") {
                throw resp::reply_error("a bulk payload is not followed by CRLF (wrong length?)");
            }
            if (n == size && (bad = first_difference(key, 0, all.substr(0, n))) != npos) {
                got = all[bad];
            }
        } else {
            for (std::size_t off = 0; off < n;) {
                const std::string_view piece = co_await rd.some(n - off);
                if (n == size && bad == npos) {
                    if (const std::size_t i = first_difference(key, off, piece); i != npos) {
                        bad = off + i;
                        got = piece[i];
                    }
                }
                off += piece.size();
            }
            co_await rd.crlf();
        }
        r.in_step = true; // the value was read whole
        if (n != size) {
            r.error = fmt::format("{}: a value of {} bytes, expected {} (written with another -d? flush the "
                                  "server)",
                                  describe(seq), n, size);
        } else if (bad != npos) {
            char want = 0;
            resp::fill_value(key, bad, &want, 1);
            r.error = fmt::format("{}: value byte {} of {} is '{}', expected '{}'", describe(seq), bad, size,
                                  printable(std::string_view(&got, 1)), printable(std::string_view(&want, 1)));
        }
    }

    void expect(check_result& r, std::uint64_t seq, std::string_view head, std::string_view want) const {
        if (head != want) {
            unexpected(r, seq, head, want);
        }
    }
    // A reply of the wrong kind: a one-line reply was read whole, anything longer leaves the stream out of step.
    void unexpected(check_result& r, std::uint64_t seq, std::string_view head, std::string_view want) const {
        r.error = fmt::format("{}: the reply \"{}\" is not {}", describe(seq), printable(head.substr(0, 64)), want);
        r.in_step = head[0] == '+' || head[0] == ':';
    }

    // "connection 3, request 17 (GET key:000000001234)", for error messages.
    std::string describe(std::uint64_t seq) const {
        const command cmd = _w.commands()[_w.kind_of(_conn, seq)];
        std::string what(resp::command_name(cmd));
        for (char& c : what) {
            c = static_cast<char>(c - 'a' + 'A');
        }
        if (cmd == command::mset) {
            what += fmt::format(" of {} keys", _w.mset_keys());
        } else if (cmd != command::ping) {
            char name[resp::max_key_length];
            const key_prefix p = cmd == command::incr ? key_prefix::counter : key_prefix::key;
            what += ' ';
            what.append(name, _w.format_key(p, _w.key_of(_conn, seq, 0), _w.tag_of(_conn, seq), name));
        }
        return fmt::format("connection {}, request {} ({})", _conn, seq, what);
    }

    const resp::workload& _w;
    std::uint64_t _conn;
    const std::string& _auth;
    std::string _req;     // the request being built
    std::string _scratch; // a reply line that spans receive buffers
};

class resp_protocol final : public protocol {
public:
    explicit resp_protocol(const protocol_options& o)
        : _w(o)
        , _auth(o.auth) {}
    std::unique_ptr<codec> open(std::uint64_t connection_id) override {
        return std::make_unique<resp_codec>(_w, connection_id, _auth);
    }
    std::vector<std::string> kinds() const override {
        std::vector<std::string> names;
        for (command c : _w.commands()) {
            names.emplace_back(resp::command_name(c));
        }
        return names;
    }

private:
    resp::workload _w;
    std::string _auth;
};

} // namespace

std::unique_ptr<protocol> make_resp_protocol(const protocol_options& options) {
    return std::make_unique<resp_protocol>(options);
}

} // namespace percore::load
