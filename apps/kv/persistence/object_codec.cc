#include "apps/kv/persistence/object_codec.hh"

#include <charconv>
#include <cmath>
#include <vector>

#include "apps/kv/persistence/record_codec.hh"
#include "apps/kv/zset.hh"

namespace percore::kv::persistence {

namespace {

/// Emits `head` + elements in chunks, each a command of its own.
class chunked {
public:
    chunked(std::string& out, std::string_view cmd, std::string_view key)
        : _out(out) {
        _argv.push_back(cmd);
        _argv.push_back(key);
    }
    void add(std::string_view element) {
        _argv.push_back(element);
        if (++_elements == elements_per_command) {
            flush();
        }
    }
    void flush() {
        if (_argv.size() > 2) {
            encode_command(_out, _argv);
            _argv.resize(2);
            _elements = 0;
        }
    }

private:
    std::string& _out;
    std::vector<std::string_view> _argv;
    std::size_t _elements = 0;
};

} // namespace

std::string score_text(double score) {
    if (std::isinf(score)) {
        return score > 0 ? "inf" : "-inf";
    }
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), score);
    (void)ec;
    return std::string(buf, end);
}

void encode_key(std::string& out, std::string_view key, const object& value, std::optional<std::int64_t> expiry_ms) {
    std::string at;
    if (expiry_ms) {
        at = std::to_string(*expiry_ms);
    }
    if (value.type() == value_type::string) {
        if (expiry_ms) {
            const std::string_view argv[] = {"SET", key, value.str(), "PXAT", at};
            encode_command(out, argv);
        } else {
            const std::string_view argv[] = {"SET", key, value.str()};
            encode_command(out, argv);
        }
        return;
    }
    const std::string_view del[] = {"DEL", key};
    encode_command(out, del);
    switch (value.type()) {
    case value_type::string:
        break;
    case value_type::list: {
        chunked c(out, "RPUSH", key);
        for (const std::string& e : value.list()) {
            c.add(e);
        }
        c.flush();
        break;
    }
    case value_type::set: {
        chunked c(out, "SADD", key);
        for (const std::string& m : value.set().members()) {
            c.add(m);
        }
        c.flush();
        break;
    }
    case value_type::hash: {
        chunked c(out, "HSET", key);
        for (const auto& [f, v] : value.hash()) {
            c.add(f);
            c.add(v);
        }
        c.flush();
        break;
    }
    case value_type::zset: {
        // Scores are formatted per chunk: the views must outlive the command they are in.
        std::vector<std::string> scores;
        std::vector<std::string_view> argv{"ZADD", key};
        std::vector<const std::string*> members;
        auto flush = [&] {
            if (members.empty()) {
                return;
            }
            for (std::size_t i = 0; i < members.size(); ++i) {
                argv.push_back(scores[i]);
                argv.push_back(*members[i]);
            }
            encode_command(out, argv);
            argv.resize(2);
            scores.clear();
            members.clear();
        };
        for (const zentry& e : value.zset()) {
            scores.push_back(score_text(e.score));
            members.push_back(&e.member);
            if (members.size() == elements_per_command) {
                flush();
            }
        }
        flush();
        break;
    }
    }
    if (expiry_ms) {
        const std::string_view argv[] = {"PEXPIREAT", key, at};
        encode_command(out, argv);
    }
}

} // namespace percore::kv::persistence
