#include "apps/kv/introspection.hh"

#include <sstream>
#include <string>
#include <vector>

#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

void flags_of(const command_spec& s, std::vector<std::string_view>& out) {
    static constexpr std::pair<cmd_flag, std::string_view> names[] = {
        {cmd_write, "write"},   {cmd_readonly, "readonly"}, {cmd_denyoom, "denyoom"},  {cmd_admin, "admin"},
        {cmd_pubsub, "pubsub"}, {cmd_noscript, "noscript"}, {cmd_loading, "loading"},  {cmd_stale, "stale"},
        {cmd_fast, "fast"},     {cmd_noauth, "no_auth"},    {cmd_nomulti, "no_multi"}, {cmd_allow_busy, "allow_busy"},
    };
    for (const auto& [flag, name] : names) {
        if ((s.flags & flag) != 0) {
            out.push_back(name);
        }
    }
}

void write_info(const command_spec& s, resp::reply_writer& out) {
    out.array(10);
    out.bulk(s.name);
    out.integer(s.arity);
    std::vector<std::string_view> flags;
    flags_of(s, flags);
    out.set(flags.size());
    for (std::string_view f : flags) {
        out.simple(f);
    }
    out.integer(s.first_key);
    out.integer(s.first_key == 0 ? 0 : s.last_key);
    out.integer(s.key_step);
    std::vector<std::string> cats;
    std::istringstream in{std::string(s.acl_categories)};
    for (std::string c; in >> c;) {
        cats.push_back("@" + c);
    }
    out.set(cats.size());
    for (const std::string& c : cats) {
        out.simple(c);
    }
    out.array(0); // tips
    if (s.first_key <= 0) {
        out.array(0);
    } else {
        out.array(1);
        out.map(3);
        out.bulk("flags");
        const bool write = (s.flags & cmd_write) != 0;
        out.set(2);
        out.simple(write ? "RW" : "RO");
        out.simple(write ? "update" : "access");
        out.bulk("begin_search");
        out.map(2);
        out.bulk("type");
        out.bulk("index");
        out.bulk("spec");
        out.map(1);
        out.bulk("index");
        out.integer(s.first_key);
        out.bulk("find_keys");
        out.map(2);
        out.bulk("type");
        out.bulk("range");
        out.bulk("spec");
        out.map(3);
        out.bulk("lastkey");
        out.integer(s.last_key < 0 ? s.last_key : s.last_key - s.first_key);
        out.bulk("keystep");
        out.integer(s.key_step);
        out.bulk("limit");
        out.integer(0);
    }
    out.array(0); // subcommands
}

void write_docs(const command_spec& s, resp::reply_writer& out) {
    out.bulk(s.name);
    out.map(4);
    out.bulk("summary");
    out.bulk(s.summary);
    out.bulk("since");
    out.bulk(s.since);
    out.bulk("group");
    out.bulk(s.group);
    out.bulk("complexity");
    out.bulk(s.complexity);
}

} // namespace

void command_command(argv_t argv, resp::reply_writer& out) {
    const auto all = all_commands();
    if (argv.size() == 1) {
        out.array(all.size());
        for (const command_spec* s : all) {
            write_info(*s, out);
        }
        return;
    }
    const std::string_view sub = argv[1];
    if (iequals(sub, "count") && argv.size() == 2) {
        out.integer(static_cast<std::int64_t>(all.size()));
    } else if (iequals(sub, "list") && argv.size() == 2) {
        out.array(all.size());
        for (const command_spec* s : all) {
            out.bulk(s->name);
        }
    } else if (iequals(sub, "info")) {
        if (argv.size() == 2) {
            out.array(all.size());
            for (const command_spec* s : all) {
                write_info(*s, out);
            }
            return;
        }
        out.array(argv.size() - 2);
        for (std::size_t i = 2; i < argv.size(); ++i) {
            if (const command_spec* s = find_command(argv[i])) {
                write_info(*s, out);
            } else {
                out.null_array();
            }
        }
    } else if (iequals(sub, "docs")) {
        std::vector<const command_spec*> which;
        if (argv.size() == 2) {
            which.assign(all.begin(), all.end());
        } else {
            for (std::size_t i = 2; i < argv.size(); ++i) {
                if (const command_spec* s = find_command(argv[i])) {
                    which.push_back(s);
                }
            }
        }
        out.map(which.size());
        for (const command_spec* s : which) {
            write_docs(*s, out);
        }
    } else if (iequals(sub, "getkeys") && argv.size() >= 3) {
        const command_spec* s = find_command(argv[2]);
        const argv_t cmd = argv.subspan(2);
        if (s == nullptr) {
            out.error("ERR Invalid command specified");
            return;
        }
        if (!arity_ok(s->arity, cmd.size())) {
            out.error("ERR Invalid number of arguments specified for command");
            return;
        }
        std::vector<std::size_t> pos;
        key_positions(*s, cmd, pos);
        if (pos.empty()) {
            out.error("ERR The command has no key arguments");
            return;
        }
        out.array(pos.size());
        for (std::size_t p : pos) {
            out.bulk(cmd[p]);
        }
    } else {
        out.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) +
                  "'. Try COMMAND HELP.");
    }
}

} // namespace percore::kv
