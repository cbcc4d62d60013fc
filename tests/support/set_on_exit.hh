/// \file
/// \brief `set_on_exit`: sets a flag when destroyed. Put one in a task's frame to prove the task has unwound.
#pragma once

namespace percore::test {

struct set_on_exit {
    bool& flag;
    explicit set_on_exit(bool& f) noexcept
        : flag(f) {}
    set_on_exit(const set_on_exit&) = delete;
    set_on_exit& operator=(const set_on_exit&) = delete;
    ~set_on_exit() { flag = true; }
};

} // namespace percore::test
