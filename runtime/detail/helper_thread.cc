#include "runtime/detail/helper_thread.hh"

#include <pthread.h>
#include <signal.h>

namespace percore::detail {

std::thread start_helper_thread(std::function<void()> body) {
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    // The new thread inherits the creator's mask; block everything just around its creation.
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    std::thread t(std::move(body));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return t;
}

} // namespace percore::detail
