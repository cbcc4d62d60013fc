/// \file
/// \brief Threads that are not reactors (watchdog, blocking pool) start with every signal blocked, so SIGINT and
/// SIGTERM reach the reactor's signalfd instead of killing the process from a helper thread.
#pragma once

#include <functional>
#include <thread>

namespace percore::detail {

std::thread start_helper_thread(std::function<void()> body);

} // namespace percore::detail
