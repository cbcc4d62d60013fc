#include "apps/kv/persistence/command_log.hh"

#include <charconv>
#include <vector>

#include "apps/kv/shard_state.hh"

namespace percore::kv {

namespace {

/// The bulk strings of a reply (a bulk, or an array or set of bulks); nulls and other types are skipped.
std::vector<std::string_view> bulks_of(std::string_view reply) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    auto line_number = [&](std::int64_t& n) {
        const std::size_t eol = reply.find("\r\n", at);
        if (eol == std::string_view::npos) {
            return false;
        }
        auto [p, ec] = std::from_chars(reply.data() + at + 1, reply.data() + eol, n);
        at = eol + 2;
        return ec == std::errc();
    };
    while (at < reply.size()) {
        const char t = reply[at];
        std::int64_t n = 0;
        if (t == '*' || t == '~') {
            if (!line_number(n)) {
                break;
            }
        } else if (t == '$') {
            if (!line_number(n)) {
                break;
            }
            if (n >= 0) {
                out.push_back(reply.substr(at, static_cast<std::size_t>(n)));
                at += static_cast<std::size_t>(n) + 2;
            }
        } else {
            const std::size_t eol = reply.find("\r\n", at);
            if (eol == std::string_view::npos) {
                break;
            }
            at = eol + 2;
        }
    }
    return out;
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
    for (std::string_view n : names) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

} // namespace

void log_command(shard_state& st, const command_spec& spec, argv_t argv, std::string_view reply) {
    shard_log& log = st.plog;
    const std::int64_t clock = st.db.now();
    const std::string_view name = spec.name;
    if (one_of(name, {"expire", "pexpire", "expireat", "pexpireat", "setex", "psetex", "getex", "incrbyfloat"}) ||
        (name == "set" && argv.size() > 3)) {
        log.record_value(clock, st, argv[1]);
        return;
    }
    if (name == "hincrbyfloat") {
        if (object* o = st.db.find(argv[1]); o != nullptr && o->type() == value_type::hash) {
            if (auto f = o->hash().find(argv[2]); f != o->hash().end()) {
                const std::string_view hset[] = {"HSET", argv[1], argv[2], f->second};
                log.record(clock, hset);
                return;
            }
        }
        log.record(clock, argv);
        return;
    }
    if (name == "spop") {
        std::vector<std::string_view> srem{"SREM", argv[1]};
        for (std::string_view m : bulks_of(reply)) {
            srem.push_back(m);
        }
        if (srem.size() > 2) {
            log.record(clock, srem);
        }
        return;
    }
    log.record(clock, argv);
}

} // namespace percore::kv
