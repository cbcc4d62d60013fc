// Commands that read or change the connection: HELLO AUTH SELECT QUIT RESET CLIENT MULTI EXEC DISCARD WATCH
// UNWATCH TIME COMMAND.
#include <algorithm>
#include <chrono>

#include "apps/kv/commands/util.hh"
#include "apps/kv/cross_shard.hh"
#include "apps/kv/global_commands.hh"
#include "apps/kv/introspection.hh"
#include "apps/kv/session.hh"
#include "apps/kv/slot.hh"
#include "runtime/abort_shield.hh"
#include "runtime/when_all.hh"
#include "shard/shard_id.hh"

namespace percore::kv {

namespace {

/// Redis's client-name check: printable, no spaces.
bool valid_client_name(std::string_view name) noexcept {
    for (char c : name) {
        if (c < '!' || c > '~') {
            return false;
        }
    }
    return true;
}

constexpr std::string_view server_version = "7.0.15";

} // namespace

void session::hello(argv_t argv) {
    resp::reply_writer out(_out, _protocol);
    int version = _protocol;
    std::size_t i = 1;
    if (argv.size() >= 2) {
        std::int64_t v = 0;
        if (!parse_int(argv[1], v)) {
            out.error("ERR Protocol version is not an integer or out of range");
            return;
        }
        if (v < 2 || v > 3) {
            out.error("NOPROTO unsupported protocol version");
            return;
        }
        version = static_cast<int>(v);
        i = 2;
    }
    std::string_view new_name;
    bool set_name = false;
    for (; i < argv.size(); ++i) {
        const bool more = i + 1 < argv.size();
        if (iequals(argv[i], "auth") && i + 2 < argv.size()) {
            const std::string& pass = local_shard().config().requirepass;
            if (argv[i + 1] != "default" || (!pass.empty() && argv[i + 2] != pass) || (pass.empty() && false)) {
                out.error("WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            _authenticated = true;
            _parser.set_authenticated(true);
            i += 2;
        } else if (iequals(argv[i], "setname") && more) {
            new_name = argv[++i];
            if (!valid_client_name(new_name)) {
                out.error("ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            set_name = true;
        } else {
            out.error("ERR Syntax error in HELLO option '" + std::string(argv[i]) + "'");
            return;
        }
    }
    if (!_authenticated) {
        out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                  "AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol "
                  "version at the same time");
        return;
    }
    if (set_name) {
        _name = new_name;
    }
    _protocol = version;
    out.set_protocol(version);
    out.map(7);
    out.bulk("server");
    out.bulk("redis");
    out.bulk("version");
    out.bulk(server_version);
    out.bulk("proto");
    out.integer(version);
    out.bulk("id");
    out.integer(static_cast<std::int64_t>(_id));
    out.bulk("mode");
    out.bulk("standalone");
    out.bulk("role");
    out.bulk("master");
    out.bulk("modules");
    out.array(0);
}

void session::auth(argv_t argv) {
    resp::reply_writer out(_out, _protocol);
    if (argv.size() > 3) {
        out.error(err_syntax);
        return;
    }
    const std::string& pass = local_shard().config().requirepass;
    const std::string_view user = argv.size() == 3 ? argv[1] : std::string_view("default");
    const std::string_view given = argv.back();
    if (argv.size() == 2 && pass.empty()) {
        out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure "
                  "your configuration is correct?");
        return;
    }
    if (user != "default" || (!pass.empty() && given != pass)) {
        out.error("WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    _authenticated = true;
    _parser.set_authenticated(true);
    out.ok();
}

void session::reset() {
    _in_multi = false;
    _multi_failed = false;
    _queued.clear();
    _protocol = 2;
    _name.clear();
    _authenticated = local_shard().config().requirepass.empty();
    _parser.set_authenticated(_authenticated);
    resp::reply_writer(_out, _protocol).simple("RESET");
}

task<> session::run_session_command(const command_spec& spec, argv_t argv) {
    resp::reply_writer out(_out, _protocol);
    const std::string_view name = spec.name;
    if (name == "hello") {
        hello(argv);
    } else if (name == "auth") {
        auth(argv);
    } else if (name == "select") {
        std::int64_t db = 0;
        if (!parse_int(argv[1], db)) {
            out.error(err_not_integer);
        } else if (db != 0) {
            out.error("ERR DB index is out of range");
        } else {
            out.ok();
        }
    } else if (name == "quit") {
        out.ok();
        _closing = true;
    } else if (name == "reset") {
        co_await unwatch_all();
        reset();
    } else if (name == "client") {
        co_await client_command(argv);
    } else if (name == "time") {
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        out.array(2);
        out.bulk_integer(us / 1'000'000);
        out.bulk_integer(us % 1'000'000);
    } else if (name == "command") {
        command_command(argv, out);
    } else if (name == "multi") {
        if (_in_multi) {
            out.error("ERR MULTI calls can not be nested");
        } else {
            _in_multi = true;
            _multi_failed = false;
            _queued.clear();
            out.ok();
        }
    } else if (name == "discard") {
        if (!_in_multi) {
            out.error("ERR DISCARD without MULTI");
        } else {
            _in_multi = false;
            _multi_failed = false;
            _queued.clear();
            co_await unwatch_all();
            out.ok();
        }
    } else if (name == "exec") {
        co_await exec();
    } else if (name == "watch") {
        if (_in_multi) {
            out.error("ERR WATCH inside MULTI is not allowed");
            co_return;
        }
        std::vector<task<>> parts;
        for (std::size_t i = 1; i < argv.size(); ++i) {
            const unsigned s = slot_shard(key_slot(argv[i]), shard_count());
            parts.push_back(_shards.invoke_on(s, [key = std::string(argv[i]), id = _id](shard_state& st) {
                st.db.set_now(now_ms()); // whether the key is already past its TTL
                st.db.watch(key, id);
            }));
            if (std::find(_watched_shards.begin(), _watched_shards.end(), s) == _watched_shards.end()) {
                _watched_shards.push_back(s);
            }
        }
        co_await when_all(std::move(parts));
        out.ok();
    } else if (name == "unwatch") {
        co_await unwatch_all();
        out.ok();
    } else {
        out.error("ERR unknown command '" + std::string(name) + "'");
    }
}

task<> session::exec() {
    resp::reply_writer out(_out, _protocol);
    if (!_in_multi) {
        out.error("ERR EXEC without MULTI");
        co_return;
    }
    std::vector<owned_command> queued = std::move(_queued);
    _queued.clear();
    _in_multi = false;
    if (_multi_failed) {
        _multi_failed = false;
        co_await unwatch_all();
        out.error("EXECABORT Transaction discarded because of previous errors.");
        co_return;
    }
    // Every shard the transaction reads or writes, and those where it watches keys.
    std::vector<unsigned> involved = _watched_shards;
    std::vector<unsigned> grows; // shards where a command may grow memory (maxmemory)
    bool writes = false;
    bool everywhere = false;
    std::vector<std::size_t> key_pos;
    std::vector<unsigned> owners;
    std::vector<unsigned> shards;
    for (const owned_command& c : queued) {
        writes = writes || (c.spec->flags & cmd_write) != 0;
        if (c.spec->kind == cmd_kind::global) {
            everywhere = true;
        } else if (c.spec->kind == cmd_kind::keyed) {
            shards_of_keys(*c.spec, c.argv(), key_pos, owners, shards);
            if (shards.empty()) {
                shards.push_back(this_shard_id());
            }
            involved.insert(involved.end(), shards.begin(), shards.end());
            if ((c.spec->flags & cmd_denyoom) != 0) {
                grows.insert(grows.end(), shards.begin(), shards.end());
            }
        }
    }
    if (everywhere) {
        involved.clear();
        for (unsigned s = 0; s < shard_count(); ++s) {
            involved.push_back(s);
        }
    }
    if (involved.empty()) {
        involved.push_back(this_shard_id());
    }
    abort_shield shield; // the locks must be released, and the transaction applied whole or not at all
    shard_lock_set locks(_shards);
    co_await locks.acquire(involved, writes);
    bool dirty = false;
    for (unsigned s : _watched_shards) {
        const bool changed = co_await _shards.invoke_on(s, [id = _id](shard_state& st) {
            st.db.set_now(now_ms()); // a watched key past its TTL by now is a change
            return st.db.dirty(id);
        });
        dirty = dirty || changed;
    }
    if (dirty) {
        co_await locks.release();
        co_await unwatch_all();
        out.null_array();
        co_return;
    }
    // As Redis: a transaction that may grow memory runs whole or not at all, never with some writes refused.
    std::sort(grows.begin(), grows.end());
    grows.erase(std::unique(grows.begin(), grows.end()), grows.end());
    bool room = true;
    if (!grows.empty()) {
        room = co_await make_room_on(_shards, grows);
    }
    if (!room) {
        co_await locks.release();
        co_await unwatch_all();
        out.error("EXECABORT Transaction discarded because of: " + std::string(err_oom));
        co_return;
    }
    if (writes) {
        const std::string e = co_await misconf_on(_shards, locks.held());
        if (!e.empty()) {
            co_await locks.release();
            co_await unwatch_all();
            out.error(e);
            co_return;
        }
    }
    const std::size_t reply_at = _out.size();
    out.array(queued.size());
    for (const owned_command& c : queued) {
        const command_spec& spec = *c.spec;
        if (spec.kind == cmd_kind::session) {
            co_await run_session_command(spec, c.argv());
        } else if (spec.kind == cmd_kind::global) {
            co_await run_global(*this, spec, c.argv(), out, &locks);
        } else {
            const int owner = owner_shard(spec, c.argv());
            if (owner < 0) {
                co_await run_cross_shard(_shards, spec, c.argv(), out, &locks);
                continue;
            }
            batch b;
            b.specs.push_back(&spec);
            b.argvs.push_back(c.argv());
            b.protocol = _protocol;
            co_await _shards.invoke_on(static_cast<unsigned>(owner), [bp = &b](shard_state& st) { st.execute(*bp); });
            _out.append(b.replies);
        }
    }
    co_await locks.release();
    co_await unwatch_all();
    if (!locks.durable()) {
        // Not durable on every shard: not acknowledged (recovery leaves the whole transaction out).
        _out.resize(reply_at);
        out.error(not_durable_error(co_await misconf_on(_shards, involved)));
    }
}

} // namespace percore::kv
