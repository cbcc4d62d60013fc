/// \file
/// \brief What Redis 7 tells clients about a command beyond `command_spec`: key specifications, tips, the flags
/// our flag bits do not carry, deprecation, and the subcommands of the container commands (CLIENT, CONFIG,
/// COMMAND). COMMAND INFO, COMMAND DOCS and COMMAND GETKEYSANDFLAGS read it.
///
/// The values are Redis 7.0's (tests/apps/kv/compat_server_test.py compares them with redis-server); the notes
/// and summaries are ours. The tables are keyed by command name, so a command family adds its rows here without
/// touching `command_spec` (whose positional initialisers every family uses).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kv/command.hh"

namespace percore::kv {

/// One key specification: where a command's keys start (begin_search "index") and how many follow (find_keys
/// "range"). Every command percore-kv has needs only these two kinds; keyword and keynum searches (ZUNIONSTORE,
/// LMPOP...) would extend this struct.
struct key_spec {
    std::string_view command;
    std::string_view flags; ///< space separated, in Redis's order: "RW access update"
    int index;              ///< argument of the first key
    int lastkey;            ///< last key relative to `index`; negative: counted from the end of argv
    int keystep = 1;
    int limit = 0;
    std::string_view notes = {}; ///< our own words; empty: none
};

/// A subcommand of a container command, as COMMAND INFO and COMMAND DOCS list it.
struct subcommand_spec {
    std::string_view name; ///< "client|list"
    int arity;             ///< counts the container and the subcommand: CLIENT LIST is -2
    std::string_view flags;
    std::string_view acl_categories; ///< space separated, without '@'
    std::string_view tips;
    std::string_view summary;
    std::string_view since;
    std::string_view complexity;
};

/// Per-command extras keyed by name. Empty when the command has none.
struct command_meta {
    std::vector<const key_spec*> keys;
    std::string_view tips;        ///< space separated, in Redis's order
    std::string_view extra_flags; ///< Redis flags without a cmd_flag bit ("skip_slowlog")
    std::string_view deprecated_since;
    std::string_view replaced_by; ///< our own words
};

/// The extras of `name` (lower case).
[[nodiscard]] const command_meta& meta_of(std::string_view name);

/// The subcommands of container `name` (lower case), or none.
[[nodiscard]] std::span<const subcommand_spec> subcommands_of(std::string_view name) noexcept;
/// Subcommand `sub` (any case) of container `name`, or null.
[[nodiscard]] const subcommand_spec* find_subcommand(std::string_view name, std::string_view sub) noexcept;

/// For a container command: Redis's error when argv[1] is not one of its subcommands or has the wrong number of
/// arguments; empty when it is fine (or `spec` is no container). `sub` is set to the subcommand, or null.
[[nodiscard]] std::string check_subcommand(const command_spec& spec, argv_t argv, const subcommand_spec*& sub);

/// Words of a space separated list.
template <typename Fn>
void for_each_word(std::string_view list, Fn fn) {
    while (!list.empty()) {
        const std::size_t space = list.find(' ');
        if (space != 0) {
            fn(list.substr(0, space));
        }
        if (space == std::string_view::npos) {
            break;
        }
        list.remove_prefix(space + 1);
    }
}

} // namespace percore::kv
