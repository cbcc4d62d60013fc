/// \file
/// \brief COMMAND [COUNT | INFO | DOCS | GETKEYS | LIST]: the command table as Redis 7 describes it.
#pragma once

#include "apps/kv/command.hh"

namespace percore::kv {

void command_command(argv_t argv, resp::reply_writer& out);

} // namespace percore::kv
