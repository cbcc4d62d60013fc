/// \file
/// \brief CONFIG GET | SET | RESETSTAT | REWRITE | HELP over the server's own settings (settings.hh), with Redis's
/// reply shapes and error texts. CONFIG SET is all or nothing, and reaches every shard before it replies.
#pragma once

#include "apps/kv/command.hh"
#include "apps/kv/shard_state.hh"
#include "runtime/task.hh"
#include "shard/sharded.hh"

namespace percore::kv {

/// CONFIG and its subcommands. \pre argv passed the arity checks of check_subcommand()
task<> config_command(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out);

} // namespace percore::kv
