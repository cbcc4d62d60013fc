/// \file
/// \brief `abort_shield`: a section of a task that abort() does not interrupt.
///
/// \code
/// {
///     percore::abort_shield shield;      // from here on, suspension points do not raise `aborted`
///     co_await take_remote_locks();      // a protocol that must run to its end (or release what it took)
///     co_await release_remote_locks();
/// }                                      // an abort that arrived meanwhile is raised at the next suspension
/// \endcode
///
/// Use it where stopping halfway would leave shared state inconsistent (a lock taken on another shard and never
/// released); keep the shielded section short and bounded, since stop() waits for it.
#pragma once

#include "runtime/detail/fiber.hh"

namespace percore {

using abort_shield = detail::abort_shield;

} // namespace percore
