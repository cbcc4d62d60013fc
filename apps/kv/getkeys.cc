// COMMAND GETKEYS and GETKEYSANDFLAGS: a command's keys found through its key specifications; COMMAND HELP.
#include <string>
#include <vector>

#include "apps/kv/command_meta.hh"
#include "apps/kv/commands/util.hh"
#include "apps/kv/introspection.hh"

namespace percore::kv {

namespace {

struct found_key {
    std::size_t position;
    std::string_view flags;
};

/// SET's key flags depend on its options: it reads the old value only with GET.
std::string_view resolved_flags(const command_spec& s, const key_spec& k, argv_t cmd) {
    if (s.name != "set") {
        return k.flags;
    }
    for (std::size_t i = 3; i < cmd.size(); ++i) {
        if (iequals(cmd[i], "get")) {
            return "RW access update";
        }
    }
    return "OW update";
}

void keys_of(const command_spec& s, argv_t cmd, std::vector<found_key>& out) {
    const auto argc = static_cast<int>(cmd.size());
    const command_meta& meta = meta_of(s.name);
    for (const key_spec* k : meta.keys) {
        const int first = k->index;
        if (first >= argc) {
            continue;
        }
        int last = argc + k->lastkey;
        if (k->lastkey >= 0) {
            last = first + k->lastkey;
        } else if (k->limit > 0) {
            last = first + (argc - first) / k->limit + k->lastkey; // a fraction of what is left (limit)
        }
        for (int i = first; i <= last && i < argc; i += k->keystep) {
            out.push_back({static_cast<std::size_t>(i), resolved_flags(s, *k, cmd)});
        }
    }
    if (meta.keys.empty()) { // a command without a key specification: its (first, last, step)
        std::vector<std::size_t> positions;
        key_positions(s, cmd, positions);
        for (std::size_t p : positions) {
            out.push_back({p, (s.flags & cmd_write) != 0 ? "RW update" : "RO access"});
        }
    }
}

} // namespace

void command_getkeys(argv_t cmd, bool with_flags, resp::reply_writer& out) {
    const command_spec* s = cmd.empty() ? nullptr : find_command(cmd[0]);
    const bool container = s != nullptr && !subcommands_of(s->name).empty();
    const subcommand_spec* sub = container && cmd.size() > 1 ? find_subcommand(s->name, cmd[1]) : nullptr;
    if (s == nullptr || (container && sub == nullptr)) {
        out.error("ERR Invalid command specified");
        return;
    }
    // As Redis: a command without keys is told so before its arity is looked at.
    if (sub != nullptr || (s->first_key <= 0 && meta_of(s->name).keys.empty())) {
        out.error("ERR The command has no key arguments");
        return;
    }
    if (!arity_ok(s->arity, cmd.size())) {
        out.error("ERR Invalid number of arguments specified for command");
        return;
    }
    std::vector<found_key> keys;
    keys_of(*s, cmd, keys);
    if (keys.empty()) {
        out.error("ERR The command has no key arguments");
        return;
    }
    out.array(keys.size());
    for (const found_key& k : keys) {
        if (!with_flags) {
            out.bulk(cmd[k.position]);
            continue;
        }
        out.array(2);
        out.bulk(cmd[k.position]);
        std::vector<std::string_view> flags;
        for_each_word(k.flags, [&](std::string_view f) { flags.push_back(f); });
        out.set(flags.size());
        for (std::string_view f : flags) {
            out.simple(f);
        }
    }
}

void command_help(resp::reply_writer& out) {
    static constexpr std::string_view lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Describe every command, as COMMAND INFO without names does.",
        "COUNT",
        "    How many commands this server has.",
        "LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Names of the commands and subcommands, all of them or those the filter keeps.",
        "INFO [<command-name> ...]",
        "    Arity, flags, key positions, ACL categories, tips, key specifications and subcommands of the",
        "    named commands, or of every command when none is named.",
        "DOCS [<command-name> ...]",
        "    Summary, first version, group and complexity of the named commands, or of every command.",
        "GETKEYS <full-command>",
        "    The keys the given command would use.",
        "GETKEYSANDFLAGS <full-command>",
        "    The keys the given command would use, each with how it uses it.",
        "HELP",
        "    This text.",
    };
    out.array(std::size(lines));
    for (std::string_view l : lines) {
        out.simple(l);
    }
}

} // namespace percore::kv
