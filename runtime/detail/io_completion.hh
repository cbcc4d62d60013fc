/// \file
/// \brief What an SQE's user_data points at: the object told about each of its CQEs.
#pragma once

namespace percore::detail {

/// Base of everything that owns an in-flight SQE. The SQE's user_data is `this`, so the object must stay alive
/// (and must not move) until its last CQE arrived: for a one-shot op, one CQE; for a multishot op, until a CQE
/// without IORING_CQE_F_MORE. user_data 0 marks completions nobody waits for (cancel requests).
class io_completion {
public:
    /// Runs on the reactor thread while completions are reaped. It must not block or resume coroutines directly:
    /// it records the result and wakes the waiting fiber.
    virtual void complete(int res, unsigned flags) noexcept = 0;

protected:
    io_completion() = default;
    io_completion(const io_completion&) = default;
    io_completion& operator=(const io_completion&) = default;
    ~io_completion() = default;
};

} // namespace percore::detail
