/// \file
/// \brief The values a shard owns for its metrics: `counter`, `gauge` and `histogram` (fixed buckets).
///
/// Plain numbers, no atomics: each shard updates its own and the registry (registry.hh) reads them on that same
/// shard when /metrics is gathered, so an update on a hot path is one add.
///
/// \code
/// percore::metrics::counter requests;                  // ++requests on the hot path
/// percore::metrics::histogram latency({0.001, 0.01, 0.1, 1});
/// latency.observe(0.004);                              // seconds
/// auto r = percore::metrics::local_registry().add(
///     "myapp_requests_total", "Requests served", {{"route", "/"}}, requests);
/// \endcode
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace percore::metrics {

/// A monotonically increasing count. \shard_local
class counter {
public:
    void add(std::uint64_t n = 1) noexcept { _value += n; }
    counter& operator++() noexcept {
        ++_value;
        return *this;
    }
    counter& operator+=(std::uint64_t n) noexcept {
        _value += n;
        return *this;
    }
    [[nodiscard]] std::uint64_t value() const noexcept { return _value; }

private:
    std::uint64_t _value = 0;
};

/// A value that goes up and down. \shard_local
class gauge {
public:
    void set(double v) noexcept { _value = v; }
    void add(double d) noexcept { _value += d; }
    void sub(double d) noexcept { _value -= d; }
    [[nodiscard]] double value() const noexcept { return _value; }

private:
    double _value = 0;
};

/// Observations counted into buckets fixed at construction (upper bounds, inclusive, as Prometheus' `le`), plus
/// their sum and count. \shard_local
class histogram {
public:
    /// \throws std::invalid_argument unless the bounds are finite and strictly increasing (an implicit +Inf bucket
    /// follows the last).
    explicit histogram(std::vector<double> upper_bounds);

    void observe(double v) noexcept {
        std::size_t i = 0;
        while (i < _bounds.size() && v > _bounds[i]) {
            ++i; // a linear scan: bucket lists are short, and this stays branch-predictable
        }
        ++_counts[i];
        _sum += v;
        ++_count;
    }

    [[nodiscard]] std::span<const double> upper_bounds() const noexcept { return _bounds; }
    /// Per bucket, not cumulative; one more than upper_bounds() (the last is +Inf).
    [[nodiscard]] std::span<const std::uint64_t> bucket_counts() const noexcept { return _counts; }
    [[nodiscard]] double sum() const noexcept { return _sum; }
    [[nodiscard]] std::uint64_t count() const noexcept { return _count; }

    /// `count` bounds from `start`, each `factor` times the previous (as Prometheus' ExponentialBuckets).
    [[nodiscard]] static std::vector<double> exponential_bounds(double start, double factor, unsigned count);

private:
    std::vector<double> _bounds;
    std::vector<std::uint64_t> _counts;
    double _sum = 0;
    std::uint64_t _count = 0;
};

} // namespace percore::metrics
