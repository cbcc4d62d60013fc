// The subcommands of CLIENT, CONFIG and COMMAND that percore-kv has, with the arity, flags, ACL categories and
// tips Redis 7.0 gives them (CLIENT SETINFO comes from Redis 7.2). Summaries and complexities are ours.
#include <string>

#include "apps/kv/command_meta.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

constexpr std::string_view client_flags = "noscript loading stale";
constexpr std::string_view client_admin_flags = "admin noscript loading stale";
constexpr std::string_view client_acl = "slow connection";
constexpr std::string_view client_admin_acl = "admin slow dangerous connection";
constexpr std::string_view config_flags = "admin noscript loading stale";
constexpr std::string_view config_acl = "admin slow dangerous";
constexpr std::string_view command_flags = "loading stale";
constexpr std::string_view command_acl = "slow connection";

constexpr subcommand_spec client_subcommands[] = {
    {"client|id", 2, client_flags, client_acl, "", "Replies with the connection's unique ID.", "5.0.0", "O(1)"},
    {"client|getname", 2, client_flags, client_acl, "", "Replies with the name given to the connection.", "2.6.9",
     "O(1)"},
    {"client|setname", 3, client_flags, client_acl, "", "Names the connection (an empty name removes it).", "2.6.9",
     "O(1)"},
    {"client|setinfo", 4, client_flags, client_acl, "", "Records the client library's name or version.", "7.2.0",
     "O(1)"},
    {"client|info", 2, client_flags, client_acl, "nondeterministic_output",
     "Describes this connection in CLIENT LIST's format.", "6.2.0", "O(1)"},
    {"client|list", -2, client_admin_flags, client_admin_acl, "nondeterministic_output",
     "Describes the open connections of every shard, one per line.", "2.4.0", "O(N) for N open connections"},
    {"client|kill", -3, client_admin_flags, client_admin_acl, "",
     "Closes the connections that match an address, an ID or other filters.", "2.4.0", "O(N) for N open connections"},
    {"client|no-evict", 3, client_admin_flags, client_admin_acl, "",
     "Marks the connection as exempt from client eviction.", "7.0.0", "O(1)"},
    {"client|help", 2, "loading stale", client_acl, "", "Lists the CLIENT subcommands.", "5.0.0", "O(1)"},
};

constexpr subcommand_spec config_subcommands[] = {
    {"config|get", -3, config_flags, config_acl, "", "Replies with the settings whose names match the patterns.",
     "2.0.0", "O(N) for N patterns given"},
    {"config|set", -4, config_flags, config_acl, "request_policy:all_nodes response_policy:all_succeeded",
     "Changes one or more settings on every shard, all of them or none.", "2.0.0", "O(N) for N settings given"},
    {"config|resetstat", 2, config_flags, config_acl, "", "Zeroes the counters INFO reports.", "2.0.0", "O(1)"},
    {"config|rewrite", 2, config_flags, config_acl, "", "Would write the settings back to the configuration file.",
     "2.8.0", "O(1)"},
    {"config|help", 2, "loading stale", "slow", "", "Lists the CONFIG subcommands.", "5.0.0", "O(1)"},
};

constexpr subcommand_spec command_subcommands[] = {
    {"command|count", 2, command_flags, command_acl, "", "Replies with the number of commands.", "2.8.13", "O(1)"},
    {"command|list", -2, command_flags, command_acl, "nondeterministic_output_order",
     "Names the commands, optionally those of a category or matching a pattern.", "7.0.0", "O(N) for N commands"},
    {"command|info", -2, command_flags, command_acl, "nondeterministic_output_order",
     "Describes the named commands, or every command.", "2.8.13", "O(N) for N commands described"},
    {"command|docs", -2, command_flags, command_acl, "nondeterministic_output_order",
     "Documents the named commands, or every command.", "7.0.0", "O(N) for N commands documented"},
    {"command|getkeys", -4, command_flags, command_acl, "", "Picks out the keys of a complete command.", "2.8.13",
     "O(N) for N arguments of the command"},
    {"command|getkeysandflags", -4, command_flags, command_acl, "",
     "Picks out the keys of a complete command, with how the command uses each.", "7.0.0",
     "O(N) for N arguments of the command"},
    {"command|help", 2, command_flags, command_acl, "", "Lists the COMMAND subcommands.", "5.0.0", "O(1)"},
};

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

} // namespace

std::span<const subcommand_spec> subcommands_of(std::string_view name) noexcept {
    if (name == "client") {
        return client_subcommands;
    }
    if (name == "config") {
        return config_subcommands;
    }
    if (name == "command") {
        return command_subcommands;
    }
    return {};
}

const subcommand_spec* find_subcommand(std::string_view name, std::string_view sub) noexcept {
    for (const subcommand_spec& s : subcommands_of(name)) {
        const std::string_view own = s.name.substr(name.size() + 1);
        if (own.size() == sub.size() && iequals(sub, own)) {
            return &s;
        }
    }
    return nullptr;
}

std::string check_subcommand(const command_spec& spec, argv_t argv, const subcommand_spec*& sub) {
    sub = nullptr;
    if (argv.size() < 2 || subcommands_of(spec.name).empty()) {
        return {}; // COMMAND alone is valid; CLIENT and CONFIG alone fail their arity check first
    }
    sub = find_subcommand(spec.name, argv[1]);
    if (sub == nullptr) {
        return "ERR unknown subcommand '" + std::string(argv[1].substr(0, 128)) + "'. Try " + upper(spec.name) +
               " HELP.";
    }
    if (!arity_ok(sub->arity, argv.size())) {
        return arity_error(sub->name);
    }
    return {};
}

} // namespace percore::kv
