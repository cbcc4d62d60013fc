#include "apps/echo/echo_service.hh"

#include "runtime/errors.hh"

namespace percore::echo {

task<> serve(net::connection c, std::chrono::milliseconds idle_timeout) {
    net::input_stream& in = c.input();
    net::output_stream& out = c.output();
    c.set_read_timeout(idle_timeout);
    for (;;) {
        // Whatever arrived, as it arrived: a receive buffer goes back out without a copy.
        net::buffer data = co_await in.read();
        if (data.empty()) {
            break; // the client half-closed: everything it sent has been echoed
        }
        co_await out.write(std::move(data));
        co_await out.flush();
    }
    co_await out.close();
}

} // namespace percore::echo
