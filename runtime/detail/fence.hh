/// \file
/// \brief The StoreLoad barrier of the sleep/wake handshake, in a form ThreadSanitizer can follow.
///
/// Reactor: store sleeping=1, barrier, look at its queues. Producer: publish, barrier, look at sleeping. With a
/// barrier on both sides one of them sees the other's write, so no wake-up is lost. A seq_cst fence is the cheap
/// form; TSan does not model fences, so under TSan both sides do a seq_cst read-modify-write of the same word
/// instead, which orders them just the same in the C++ memory model.
#pragma once

#include <atomic>

namespace percore::detail {

inline void store_load_barrier([[maybe_unused]] std::atomic<unsigned>& shared_word) noexcept {
#if defined(__SANITIZE_THREAD__)
    shared_word.fetch_add(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

} // namespace percore::detail
