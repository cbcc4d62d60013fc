/// \file
/// \brief `histogram`: an HdrHistogram-style log-linear histogram of integer values (latencies in nanoseconds):
/// O(1) record, mergeable, percentile queries with a bounded relative error.
///
/// \code
/// load::histogram h;                       // 1 ns .. 60 s, 2 significant digits
/// h.record(23'456);                        // one latency, in ns
/// other.merge_into(h);                     // e.g. another shard's histogram
/// std::uint64_t p99 = h.percentile(99.0);  // within 1 % of the true value (never below it)
/// \endcode
///
/// Layout (as in HdrHistogram): values below `sub_bucket_count` are counted exactly; above that, bucket `b` covers
/// [sub_bucket_count << (b - 1), sub_bucket_count << b) in `sub_bucket_count / 2` equal steps of `1 << b`. With
/// 2 significant digits `sub_bucket_count` is 256, so a step is at most 1/128 of the value: a reported
/// percentile is the highest value of its step, never below the true one and less than 0.8 % above it. Values
/// above `highest` are counted as `highest` (the exact maximum is kept apart).
///
/// \shard_local Not synchronised: one histogram per shard, merged on one shard.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace percore::load {

class histogram {
public:
    /// 1 ns .. 60 s to 2 significant digits: percore-load's latencies.
    histogram()
        : histogram(60'000'000'000ULL, 2) {}
    /// Counts values in [0, `highest`] to `significant_digits` (1 to 5) decimal digits.
    /// \throws std::invalid_argument for a range or precision it cannot represent.
    histogram(std::uint64_t highest, int significant_digits) {
        if (significant_digits < 1 || significant_digits > 5 || highest < 2) {
            throw std::invalid_argument("histogram: significant digits must be 1..5 and highest at least 2");
        }
        const auto largest_exact = 2 * static_cast<std::uint64_t>(std::pow(10, significant_digits));
        _sub_bucket_magnitude = static_cast<unsigned>(std::bit_width(largest_exact - 1)); // ceil(log2)
        _sub_bucket_count = std::uint64_t{1} << _sub_bucket_magnitude;
        _half_magnitude = _sub_bucket_magnitude - 1;
        _half_count = _sub_bucket_count / 2;
        _sub_bucket_mask = _sub_bucket_count - 1;
        unsigned buckets = 1;
        for (std::uint64_t untrackable = _sub_bucket_count; untrackable <= highest; untrackable <<= 1) {
            ++buckets;
            if (untrackable > std::numeric_limits<std::uint64_t>::max() / 2) {
                break;
            }
        }
        _highest = highest;
        _counts.assign((buckets + 1) * _half_count, 0);
    }

    /// Counts `value` (`count` times). O(1).
    void record(std::uint64_t value, std::uint64_t count = 1) noexcept {
        _max = std::max(_max, value);
        _min = std::min(_min, value);
        _counts[index_of(std::min(value, _highest))] += count;
        _total += count;
    }

    /// Adds `other`'s counts to this one. \pre both were made with the same range and precision
    void merge(const histogram& other) {
        if (other._counts.size() != _counts.size() || other._sub_bucket_count != _sub_bucket_count) {
            throw std::invalid_argument("histogram: merging histograms of different layouts");
        }
        for (std::size_t i = 0; i < _counts.size(); ++i) {
            _counts[i] += other._counts[i];
        }
        _total += other._total;
        _max = std::max(_max, other._max);
        _min = std::min(_min, other._min);
    }

    void reset() noexcept {
        std::fill(_counts.begin(), _counts.end(), 0);
        _total = 0;
        _max = 0;
        _min = std::numeric_limits<std::uint64_t>::max();
    }

    [[nodiscard]] std::uint64_t count() const noexcept { return _total; }
    /// The largest value recorded, exact (0 when empty).
    [[nodiscard]] std::uint64_t max() const noexcept { return _max; }
    /// The smallest value recorded, exact (0 when empty).
    [[nodiscard]] std::uint64_t min() const noexcept { return _total == 0 ? 0 : _min; }

    /// The value at or below which `p` percent (0..100) of the recorded values fall: the highest value of the
    /// step holding it, capped by max(). 0 when empty.
    [[nodiscard]] std::uint64_t percentile(double p) const noexcept {
        if (_total == 0) {
            return 0;
        }
        p = std::clamp(p, 0.0, 100.0);
        // Rank of the value sought (1-based); the epsilon keeps an exact product (99 % of 1000) from rounding up.
        const auto wanted = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(_total) - 1e-9)));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < _counts.size(); ++i) {
            seen += _counts[i];
            if (seen >= wanted) {
                return std::min(highest_equivalent(value_at(i)), _max);
            }
        }
        return _max;
    }

    /// Mean of the recorded values (each counted at the middle of its step). 0 when empty.
    [[nodiscard]] double mean() const noexcept {
        if (_total == 0) {
            return 0;
        }
        double sum = 0;
        for (std::size_t i = 0; i < _counts.size(); ++i) {
            if (_counts[i] != 0) {
                const std::uint64_t low = value_at(i);
                sum += static_cast<double>(_counts[i]) *
                       (static_cast<double>(low) + static_cast<double>(highest_equivalent(low) - low) / 2);
            }
        }
        return sum / static_cast<double>(_total);
    }

    /// The largest value counted in the same step as `value` (what percentiles report).
    [[nodiscard]] std::uint64_t highest_equivalent(std::uint64_t value) const noexcept {
        const unsigned b = bucket_of(value);
        const std::uint64_t sub = value >> b;
        const std::uint64_t step = std::uint64_t{1} << (sub >= _sub_bucket_count ? b + 1 : b);
        return (sub << b) + step - 1;
    }

private:
    // Bucket 0 holds [0, sub_bucket_count) in steps of 1; bucket b > 0 holds the upper half of its sub-buckets,
    // [half << b, sub_bucket_count << b), in steps of 1 << b.
    [[nodiscard]] unsigned bucket_of(std::uint64_t value) const noexcept {
        const auto magnitude = static_cast<unsigned>(std::bit_width(value | _sub_bucket_mask));
        return magnitude - _sub_bucket_magnitude;
    }
    [[nodiscard]] std::size_t index_of(std::uint64_t value) const noexcept {
        const unsigned b = bucket_of(value);
        const std::uint64_t sub = value >> b;
        return ((static_cast<std::size_t>(b) + 1) << _half_magnitude) + (sub - _half_count);
    }
    [[nodiscard]] std::uint64_t value_at(std::size_t index) const noexcept {
        auto b = static_cast<long>(index >> _half_magnitude) - 1;
        std::uint64_t sub = (index & (_half_count - 1)) + _half_count;
        if (b < 0) {
            sub -= _half_count;
            b = 0;
        }
        return sub << b;
    }

    unsigned _sub_bucket_magnitude = 0;
    unsigned _half_magnitude = 0;
    std::uint64_t _sub_bucket_count = 0;
    std::uint64_t _half_count = 0;
    std::uint64_t _sub_bucket_mask = 0;
    std::uint64_t _highest = 0;
    std::uint64_t _total = 0;
    std::uint64_t _max = 0;
    std::uint64_t _min = std::numeric_limits<std::uint64_t>::max();
    std::vector<std::uint64_t> _counts;
};

} // namespace percore::load
