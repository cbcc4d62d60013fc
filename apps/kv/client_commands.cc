// CLIENT: the connection's own subcommands (ID, GETNAME, SETNAME, SETINFO, INFO, NO-EVICT, HELP) and those that
// look at every shard's connections (LIST, KILL).
#include <algorithm>
#include <optional>

#include "apps/kv/commands/util.hh"
#include "apps/kv/on_all_shards.hh"
#include "apps/kv/session.hh"

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

/// Every client is a normal one (no replicas, no pub/sub): whether one of Redis's client types covers them.
std::optional<bool> type_matches(std::string_view type) noexcept {
    if (iequals(type, "normal")) {
        return true;
    }
    if (iequals(type, "master") || iequals(type, "replica") || iequals(type, "slave") || iequals(type, "pubsub")) {
        return false;
    }
    return std::nullopt;
}

std::string unknown_type(std::string_view type) {
    return "ERR Unknown client type '" + std::string(type) + "'";
}

task<> client_list(session& self, argv_t argv, resp::reply_writer& out) {
    std::vector<std::int64_t> ids;
    bool any = true;
    if (argv.size() == 4 && iequals(argv[2], "type")) {
        const auto match = type_matches(argv[3]);
        if (!match) {
            out.error(unknown_type(argv[3]));
            co_return;
        }
        any = *match;
    } else if (argv.size() > 3 && iequals(argv[2], "id")) {
        for (std::size_t i = 3; i < argv.size(); ++i) {
            std::int64_t id = 0;
            if (!parse_int(argv[i], id)) {
                out.error("ERR Invalid client ID");
                co_return;
            }
            ids.push_back(id);
        }
    } else if (argv.size() != 2) {
        out.error(err_syntax);
        co_return;
    }
    auto parts = co_await on_all_shards(self.shards(), [ids, any](shard_state& st) {
        std::string lines;
        for (session* s : st.clients()) {
            const auto id = static_cast<std::int64_t>(s->id());
            if (any && (ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end())) {
                lines += s->describe();
            }
        }
        return lines;
    });
    std::string all;
    for (const std::string& p : parts) {
        all += p;
    }
    out.verbatim(all);
}

struct kill_filter {
    std::optional<std::uint64_t> id;
    std::string addr;
    std::string laddr;
    bool any_type = true;
    bool skipme = true;
};

/// Parses CLIENT KILL's filters. \return an error text, empty on success.
std::string parse_kill(argv_t argv, kill_filter& f) {
    if (argv.size() == 3) { // the old form: an address, and the caller may close itself
        f.addr = argv[2];
        f.skipme = false;
        return {};
    }
    for (std::size_t i = 2; i < argv.size(); i += 2) {
        if (i + 1 >= argv.size()) {
            return std::string(err_syntax);
        }
        const std::string_view opt = argv[i];
        const std::string_view value = argv[i + 1];
        if (iequals(opt, "id")) {
            std::int64_t v = 0;
            if (!parse_int(value, v) || v <= 0) {
                return "ERR client-id should be greater than 0";
            }
            f.id = static_cast<std::uint64_t>(v);
        } else if (iequals(opt, "type")) {
            const auto match = type_matches(value);
            if (!match) {
                return unknown_type(value);
            }
            f.any_type = f.any_type && *match;
        } else if (iequals(opt, "addr")) {
            f.addr = value;
        } else if (iequals(opt, "laddr")) {
            f.laddr = value;
        } else if (iequals(opt, "user")) {
            if (value != "default") { // the only user
                return "ERR No such user '" + std::string(value) + "'";
            }
        } else if (iequals(opt, "skipme") && (iequals(value, "yes") || iequals(value, "no"))) {
            f.skipme = iequals(value, "yes");
        } else {
            return std::string(err_syntax);
        }
    }
    return {};
}

task<> client_kill(session& self, argv_t argv, resp::reply_writer& out) {
    kill_filter f;
    if (std::string e = parse_kill(argv, f); !e.empty()) {
        out.error(e);
        co_return;
    }
    const std::uint64_t me = self.id();
    // Each shard closes its own matching connections; the caller, if it matches, closes after this reply.
    auto killed = co_await on_all_shards(self.shards(), [f, me](shard_state& st) {
        std::vector<session*> victims;
        for (session* s : st.clients()) {
            if (!f.any_type || (f.id && s->id() != *f.id) || (!f.addr.empty() && s->peer() != f.addr) ||
                (!f.laddr.empty() && s->local() != f.laddr) || (f.skipme && s->id() == me)) {
                continue;
            }
            victims.push_back(s);
        }
        for (session* s : victims) {
            if (s->id() == me) {
                s->close_after_reply();
            } else {
                s->kill();
            }
        }
        return static_cast<std::int64_t>(victims.size());
    });
    std::int64_t n = 0;
    for (std::int64_t k : killed) {
        n += k;
    }
    if (argv.size() != 3) {
        out.integer(n);
    } else if (n == 0) {
        out.error("ERR No such client");
    } else {
        out.ok();
    }
}

void client_help(resp::reply_writer& out) {
    static constexpr std::string_view lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    The name of this connection (null when it has none).",
        "ID",
        "    The unique ID of this connection.",
        "INFO",
        "    This connection, described as CLIENT LIST describes each.",
        "KILL <ip:port>",
        "    Close the connection that comes from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Close every connection that passes all the filters:",
        "    * ID <client-id>             the connection with this ID",
        "    * ADDR <ip:port>             the connection from this address",
        "    * LADDR <ip:port>            connections made to this local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)   connections of this type (all are normal here)",
        "    * USER <username>            connections of this user (only 'default' exists)",
        "    * SKIPME (YES|NO)            whether this connection is spared (yes unless told)",
        "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB) | ID <client-id> [<client-id> ...]]",
        "    One line per open connection, over every shard.",
        "NO-EVICT (ON|OFF)",
        "    Mark this connection as exempt from client eviction (no client is evicted here).",
        "SETNAME <name>",
        "    Name this connection; an empty name removes it.",
        "SETINFO (LIB-NAME|LIB-VER) <value>",
        "    Record the client library's name or version, shown by CLIENT LIST.",
        "HELP",
        "    This text.",
    };
    out.array(std::size(lines));
    for (std::string_view l : lines) {
        out.simple(l);
    }
}

} // namespace

std::string session::describe() const {
    const std::int64_t now = now_ms();
    // Flag letters in Redis's order: MULTI, closing after the reply, not evicted; N when none.
    std::string flags;
    if (_in_multi) {
        flags += 'x';
    }
    if (_closing) {
        flags += 'c';
    }
    if (_no_evict) {
        flags += 'e';
    }
    if (flags.empty()) {
        flags = "N";
    }
    std::size_t multi_mem = 0;
    for (const owned_command& c : _queued) {
        for (const std::string& a : c.args) {
            multi_mem += a.size();
        }
    }
    const std::size_t qbuf = _parser.buffered();
    // rbs and rbp: the reply buffer's capacity, which stays at its largest between windows.
    const std::size_t tot_mem =
        sizeof(session) + qbuf + _out.capacity() + multi_mem + _argv.capacity() * sizeof(std::string_view);
    auto n = [](auto v) { return std::to_string(v); };
    return "id=" + n(_id) + " addr=" + _peer + " laddr=" + _local + " fd=" + n(_conn.fd()) + " name=" + _name +
           " age=" + n((now - _created_ms) / 1000) + " idle=" + n((now - _last_ms) / 1000) + " flags=" + flags +
           " db=0 sub=0 psub=0 ssub=0 multi=" + (_in_multi ? n(_queued.size()) : std::string("-1")) +
           " qbuf=" + n(qbuf) + " qbuf-free=0 argv-mem=" + n(_argv_bytes) + " multi-mem=" + n(multi_mem) +
           " rbs=" + n(_out.capacity()) + " rbp=" + n(_out.capacity()) + " obl=" + n(_out.size()) +
           " oll=0 omem=0 tot-mem=" + n(tot_mem) +
           " events=r cmd=" + std::string(_last_command.empty() ? "NULL" : _last_command) +
           " user=default redir=-1 resp=" + n(_protocol) + " lib-name=" + _lib_name + " lib-ver=" + _lib_ver + "\n";
}

task<> session::client_command(argv_t argv) {
    resp::reply_writer out(_out, _protocol);
    const std::string_view sub = argv[1];
    // The arity of each subcommand was checked by dispatch() (check_subcommand).
    if (iequals(sub, "list")) {
        co_await client_list(*this, argv, out);
    } else if (iequals(sub, "kill")) {
        co_await client_kill(*this, argv, out);
    } else if (iequals(sub, "id")) {
        out.integer(static_cast<std::int64_t>(_id));
    } else if (iequals(sub, "info")) {
        out.verbatim(describe());
    } else if (iequals(sub, "setname")) {
        if (!valid_client_name(argv[2])) {
            out.error("ERR Client names cannot contain spaces, newlines or special characters.");
            co_return;
        }
        _name = argv[2];
        out.ok();
    } else if (iequals(sub, "getname")) {
        _name.empty() ? out.null() : out.bulk(_name);
    } else if (iequals(sub, "setinfo")) {
        std::string* field = iequals(argv[2], "lib-name")  ? &_lib_name
                             : iequals(argv[2], "lib-ver") ? &_lib_ver
                                                           : nullptr;
        if (field == nullptr) {
            out.error("ERR Unrecognized option '" + std::string(argv[2]) + "'");
        } else if (!valid_client_name(argv[3])) {
            out.error("ERR " + std::string(argv[2]) + " cannot contain spaces, newlines or special characters.");
        } else {
            *field = argv[3];
            out.ok();
        }
    } else if (iequals(sub, "no-evict")) {
        if (!iequals(argv[2], "on") && !iequals(argv[2], "off")) {
            out.error(err_syntax);
            co_return;
        }
        _no_evict = iequals(argv[2], "on");
        out.ok();
    } else if (iequals(sub, "help")) {
        client_help(out);
    } else {
        out.error("ERR unknown subcommand '" + std::string(sub) + "'. Try CLIENT HELP.");
    }
}

} // namespace percore::kv
