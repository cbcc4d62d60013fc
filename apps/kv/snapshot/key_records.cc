#include "apps/kv/snapshot/key_records.hh"

#include <charconv>
#include <vector>

namespace percore::kv {

namespace {

/// Builds records of one command name and key with as many further arguments as fit a chunk.
class record_builder {
public:
    record_builder(std::string_view name, std::string_view key, std::deque<std::string>& out, std::size_t chunk)
        : _name(name)
        , _key(key)
        , _out(out)
        , _chunk(chunk) {}

    /// Adds arguments that must stay in one record (a field and its value, a score and its member).
    void add(std::string_view a, std::string_view b = {}, bool pair = false) {
        if (_args != 0 && _body.size() + a.size() + b.size() > _chunk) {
            flush();
        }
        bulk(_body, a);
        ++_args;
        if (pair) {
            bulk(_body, b);
            ++_args;
        }
    }
    /// Ends the record being built, if it has arguments. \return bytes appended to `out` in total
    std::size_t finish() {
        flush();
        return _bytes;
    }

private:
    static void bulk(std::string& to, std::string_view s) {
        char buf[24];
        buf[0] = '$';
        auto r = std::to_chars(buf + 1, buf + sizeof buf, s.size());
        to.append(buf, r.ptr);
        to.append("\r\n", 2);
        to.append(s);
        to.append("\r\n", 2);
    }
    void flush() {
        if (_args == 0) {
            return;
        }
        std::string rec;
        char buf[24];
        buf[0] = '*';
        auto r = std::to_chars(buf + 1, buf + sizeof buf, _args + 2);
        rec.reserve(_body.size() + _name.size() + _key.size() + 64);
        rec.append(buf, r.ptr);
        rec.append("\r\n", 2);
        bulk(rec, _name);
        bulk(rec, _key);
        rec += _body;
        _bytes += rec.size();
        _out.push_back(std::move(rec));
        _body.clear();
        _args = 0;
    }

    std::string_view _name;
    std::string_view _key;
    std::deque<std::string>& _out;
    std::size_t _chunk;
    std::string _body; ///< the arguments after the key
    std::size_t _args = 0;
    std::size_t _bytes = 0;
};

std::string format_score(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v); // shortest form that reads back as the same double; "inf"
    return {buf, r.ptr};
}

std::size_t string_records(std::string_view key, std::string_view s, std::deque<std::string>& out, std::size_t chunk) {
    // SET the first chunk, APPEND the rest: a 512 MB string is not one record.
    std::size_t bytes = 0;
    std::size_t at = 0;
    do {
        const std::size_t n = std::min(chunk, s.size() - at);
        record_builder r(at == 0 ? "SET" : "APPEND", key, out, SIZE_MAX);
        r.add(s.substr(at, n));
        bytes += r.finish();
        at += n;
    } while (at < s.size());
    return bytes;
}

} // namespace

std::size_t write_key_records(std::string_view key, const object& value, std::int64_t expiry_ms,
                              std::deque<std::string>& out, std::size_t chunk) {
    std::size_t bytes = 0;
    switch (value.type()) {
    case value_type::string:
        bytes += string_records(key, value.str(), out, chunk);
        break;
    case value_type::list: {
        record_builder r("RPUSH", key, out, chunk);
        for (const std::string& e : value.list()) {
            r.add(e);
        }
        bytes += r.finish();
        break;
    }
    case value_type::set: {
        record_builder r("SADD", key, out, chunk);
        for (const std::string& m : value.set().members()) {
            r.add(m);
        }
        bytes += r.finish();
        break;
    }
    case value_type::hash: {
        record_builder r("HSET", key, out, chunk);
        for (const auto& [f, v] : value.hash()) {
            r.add(f, v, true);
        }
        bytes += r.finish();
        break;
    }
    case value_type::zset: {
        record_builder r("ZADD", key, out, chunk);
        for (const zentry& e : value.zset()) {
            r.add(format_score(e.score), e.member, true);
        }
        bytes += r.finish();
        break;
    }
    }
    if (expiry_ms != 0) {
        char buf[24];
        auto end = std::to_chars(buf, buf + sizeof buf, expiry_ms).ptr;
        record_builder r("PEXPIREAT", key, out, SIZE_MAX);
        r.add(std::string_view(buf, static_cast<std::size_t>(end - buf)));
        bytes += r.finish();
    }
    return bytes;
}

} // namespace percore::kv
