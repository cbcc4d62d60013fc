/// \file
/// \brief What the log records of a command that changed data: the command itself when replaying it at the same
/// clock gives the same result, else the command that has its effect (as Redis's propagation rewrites).
///
/// - Relative or computed expiry (EXPIRE, PEXPIRE, EXPIREAT, SETEX, PSETEX, SET with EX/PX/EXAT/PXAT, GETEX):
///   the key's resulting state with an absolute time (`SET k v PXAT t`, `PEXPIREAT k t`, or `DEL k`).
/// - Floating point (INCRBYFLOAT, HINCRBYFLOAT): the value reached (`SET k v [PXAT t]`, `HSET k f v`).
/// - Random (SPOP): the members it removed (`SREM k m...`).
/// - Everything else: verbatim.
///
/// \code
/// spec.fn(ctx, argv);
/// if (db.changes() != before) { log_command(st, spec, argv, reply_of_this_command); }
/// \endcode
#pragma once

#include <string_view>

#include "apps/kv/command.hh"

namespace percore::kv {

class shard_state;

/// Records `spec`/`argv`, which just ran on `st` and changed data (its reply is `reply`), in `st.plog`.
/// \shard_local
void log_command(shard_state& st, const command_spec& spec, argv_t argv, std::string_view reply);

} // namespace percore::kv
