#include "runtime/metrics/metric.hh"

#include <cmath>
#include <stdexcept>

namespace percore::metrics {

histogram::histogram(std::vector<double> upper_bounds)
    : _bounds(std::move(upper_bounds))
    , _counts(_bounds.size() + 1, 0) {
    for (std::size_t i = 0; i < _bounds.size(); ++i) {
        if (!std::isfinite(_bounds[i]) || (i > 0 && !(_bounds[i] > _bounds[i - 1]))) {
            throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
        }
    }
}

std::vector<double> histogram::exponential_bounds(double start, double factor, unsigned count) {
    if (!(start > 0) || !(factor > 1) || count == 0) {
        throw std::invalid_argument("exponential bounds need start > 0, factor > 1 and count > 0");
    }
    std::vector<double> b;
    b.reserve(count);
    for (unsigned i = 0; i < count; ++i, start *= factor) {
        b.push_back(start);
    }
    return b;
}

} // namespace percore::metrics
