/// \file
/// \brief Hook for work that arrives outside io_uring (the cross-shard bus, the blocking pool).
#pragma once

namespace percore {

/// Polled once per reactor pass. Before the reactor sleeps it publishes its `sleeping` flag, issues a full fence
/// and asks every poller `try_enter_sleep()`; a producer that sees the flag after publishing its work calls
/// `reactor::wake()`. That handshake is what prevents lost wake-ups.
class poller {
public:
    virtual ~poller() = default;
    /// Processes what arrived. \return whether anything was done. \shard_local
    virtual bool poll() = 0;
    /// Called after the sleeping flag was published. \return false when work is already pending (no sleep).
    virtual bool try_enter_sleep() = 0;
    /// Called after waking up.
    virtual void exit_sleep() {}
    /// True while work is expected shortly (replies to requests this shard sent): an idle reactor then polls for
    /// `reply_poll` instead of `idle_poll` before it sleeps. \shard_local
    virtual bool expecting() { return false; }
    /// Asked while the reactor shuts down: false while the poller still has work in flight that other threads
    /// will complete (the reactor keeps running until every poller says true). \shard_local
    virtual bool quiescent() { return true; }
};

} // namespace percore
