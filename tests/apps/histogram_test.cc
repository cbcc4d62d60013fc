#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "apps/load/histogram.hh"

using percore::load::histogram;

namespace {

// The exact p-th percentile of `values` (sorted): the value at rank ceil(p / 100 * n), as the histogram defines it.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
    return sorted[std::max<std::size_t>(rank, 1) - 1];
}

// Two significant digits: a reported value is never below the true one and at most 1/128 above it.
void check_within_precision(std::uint64_t reported, std::uint64_t exact) {
    CHECK(reported >= exact);
    CHECK(static_cast<double>(reported - exact) <= static_cast<double>(exact) / 128.0 + 1.0);
}

} // namespace

TEST_SUITE("apps/histogram") {
    TEST_CASE("an empty histogram reports zeros") {
        histogram h;
        CHECK(h.count() == 0);
        CHECK(h.percentile(50) == 0);
        CHECK(h.max() == 0);
        CHECK(h.min() == 0);
        CHECK(h.mean() == 0);
    }

    TEST_CASE("small values are counted exactly") {
        histogram h;
        for (std::uint64_t v = 0; v < 256; ++v) {
            h.record(v);
        }
        CHECK(h.count() == 256);
        CHECK(h.percentile(50) == 127);
        CHECK(h.percentile(100) == 255);
        CHECK(h.percentile(0) == 0);
        CHECK(h.min() == 0);
        CHECK(h.max() == 255);
    }

    TEST_CASE("percentiles of a uniform distribution are within the stated precision") {
        histogram h;
        std::vector<std::uint64_t> values;
        for (std::uint64_t v = 1; v <= 100'000; ++v) {
            values.push_back(v * 1000); // 1 us .. 100 ms in ns
            h.record(v * 1000);
        }
        for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
            CAPTURE(p);
            check_within_precision(h.percentile(p), exact_percentile(values, p));
        }
        CHECK(h.percentile(50) >= 50'000'000);
        CHECK(h.percentile(50) <= 50'400'000);
    }

    TEST_CASE("percentiles of a long-tailed random distribution are within the stated precision") {
        std::mt19937_64 rng(7);
        std::lognormal_distribution<double> latency(10.0, 1.5); // median ~22 us in ns, tail into seconds
        histogram h;
        std::vector<std::uint64_t> values;
        for (int i = 0; i < 200'000; ++i) {
            const auto v = static_cast<std::uint64_t>(latency(rng)) + 1;
            values.push_back(v);
            h.record(v);
        }
        std::sort(values.begin(), values.end());
        for (double p : {50.0, 90.0, 99.0, 99.9, 99.999}) {
            CAPTURE(p);
            check_within_precision(h.percentile(p), exact_percentile(values, p));
        }
        CHECK(h.max() == values.back());
        CHECK(h.min() == values.front());
    }

    TEST_CASE("a reported percentile never exceeds the exact maximum") {
        histogram h;
        h.record(1'000'001);
        CHECK(h.percentile(100) == 1'000'001);
        CHECK(h.percentile(50) == 1'000'001);
        CHECK(h.highest_equivalent(1'000'001) > 1'000'001);
    }

    TEST_CASE("a single huge value is counted at the top of the range and kept exactly as the maximum") {
        histogram h(1'000'000, 2);
        h.record(5);
        h.record(7'000'000'000);
        CHECK(h.count() == 2);
        CHECK(h.max() == 7'000'000'000);
        CHECK(h.percentile(100) >= 1'000'000);
        CHECK(h.percentile(50) == 5);
    }

    TEST_CASE("recording with a count weighs the value") {
        histogram h;
        h.record(100, 99);
        h.record(10'000);
        CHECK(h.count() == 100);
        CHECK(h.percentile(99) == 100);
        check_within_precision(h.percentile(99.5), 10'000);
    }

    TEST_CASE("merging equals recording everything in one histogram") {
        std::mt19937_64 rng(11);
        histogram a;
        histogram b;
        histogram all;
        for (int i = 0; i < 50'000; ++i) {
            const std::uint64_t v = rng() % 50'000'000;
            (i % 3 == 0 ? a : b).record(v);
            all.record(v);
        }
        histogram merged;
        merged.merge(a);
        merged.merge(b);
        CHECK(merged.count() == all.count());
        CHECK(merged.max() == all.max());
        CHECK(merged.min() == all.min());
        for (double p : {0.0, 25.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
            CAPTURE(p);
            CHECK(merged.percentile(p) == all.percentile(p));
        }
        CHECK(merged.mean() == doctest::Approx(all.mean()));
    }

    TEST_CASE("merge keeps the larger maximum and reset empties") {
        histogram a;
        histogram b;
        a.record(3'000);
        b.record(9'000'000);
        a.merge(b);
        CHECK(a.max() == 9'000'000);
        CHECK(a.count() == 2);
        a.reset();
        CHECK(a.count() == 0);
        CHECK(a.max() == 0);
        CHECK(a.percentile(99) == 0);
    }

    TEST_CASE("merging histograms of different layouts is refused") {
        histogram a;
        histogram b(1'000, 3);
        CHECK_THROWS_AS(a.merge(b), std::invalid_argument);
    }

    TEST_CASE("the mean is within the precision of the values") {
        histogram h;
        h.record(1'000'000);
        h.record(3'000'000);
        CHECK(h.mean() == doctest::Approx(2'000'000).epsilon(0.01));
    }
}
