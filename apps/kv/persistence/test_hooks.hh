/// \file
/// \brief Failure injection for the persistence tests, from environment variables read when a shard's log has
/// been opened (after recovery, so counting starts with the first write of the run). Unset, they cost nothing.
///
/// - `PERCORE_KV_LOG_FAULT=write|sync:N:ERRNO[:TIMES[:SHARD]]`: the Nth write or fdatasync of each shard's log
///   (or of shard SHARD only) and the TIMES-1 after it fail with ERRNO (a number, or ENOSPC, EIO)
///   (storage/fault_injection.hh).
/// - `PERCORE_KV_POWER_CUT=write|sync:N:drop|prefix|random_pages:SEED`: a simulated power cut
///   (storage/power_loss.hh) as shard 0's Nth write or fdatasync begins: every later I/O fails, each shard tears
///   what it had not synced, and the process exits with status 137 as if the machine had gone off.
///
/// \code
/// PERCORE_KV_LOG_FAULT=sync:3:EIO percore-kv --appendonly yes --appendfsync always ...
/// \endcode
#pragma once

namespace percore::kv {

/// Arms what the environment asks for on this shard. \shard_local
void arm_test_hooks();

} // namespace percore::kv
