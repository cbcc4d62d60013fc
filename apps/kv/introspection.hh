/// \file
/// \brief COMMAND [COUNT | LIST | INFO | DOCS | GETKEYS | GETKEYSANDFLAGS | HELP]: the command table as Redis 7
/// describes it (command.hh for the table, command_meta.hh for key specifications, tips and subcommands).
#pragma once

#include "apps/kv/command.hh"

namespace percore::kv {

/// COMMAND and its subcommands. \pre argv passed the arity checks of check_subcommand()
void command_command(argv_t argv, resp::reply_writer& out);

/// COMMAND GETKEYS (or GETKEYSANDFLAGS) of the complete command `cmd`.
void command_getkeys(argv_t cmd, bool with_flags, resp::reply_writer& out);
/// COMMAND HELP.
void command_help(resp::reply_writer& out);

} // namespace percore::kv
