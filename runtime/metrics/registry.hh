/// \file
/// \brief A shard's metrics registry: counters, gauges and histograms the shard owns, values read through
/// callbacks, and collectors that report a varying set of series (one per task queue, per peer...).
///
/// Registration and reading are shard-local: each reactor has its own registry (`local_registry()`), values are
/// plain numbers (metric.hh) read on their shard, and the /metrics endpoint gathers every shard's `snapshot()` over
/// the bus. A registration is an RAII handle: the series disappears with it.
///
/// \code
/// auto& reg = percore::metrics::local_registry();
/// percore::metrics::counter served;
/// auto r1 = reg.add("myapp_requests_total", "Requests served", {{"route", "/"}}, served);
/// auto r2 = reg.add_callback("myapp_cache_entries", "Entries in the cache", metrics::metric_type::gauge, {},
///                            [&cache] { return double(cache.size()); });     // reads existing state: no double count
/// auto r3 = reg.add_collector([&](metrics::sample_sink& out) {
///     for (auto& q : queues) out.gauge("myapp_queue_length", "Items waiting", {{"queue", q.name}}, q.size());
/// });
/// \endcode
///
/// Names follow Prometheus (`[a-zA-Z_:][a-zA-Z0-9_:]*`, labels `[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed, and
/// `shard` is reserved: the exposition adds it). A registration with a bad name, or one reusing a family name with
/// another type, throws std::invalid_argument; a collector reporting such a series has it skipped (logged once).
///
/// Invariants
/// - Entries are only touched on the registry's shard; a registration may outlive its registry (it then does
///   nothing when destroyed).
/// - A registered counter/gauge/histogram must outlive its registration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "runtime/metrics/metric.hh"
#include "runtime/metrics/snapshot.hh"

namespace percore::metrics {

/// Where collectors report their series while a snapshot is taken.
class sample_sink {
public:
    explicit sample_sink(shard_snapshot& out) noexcept
        : _out(out) {}
    void counter(std::string_view name, std::string_view help, labels l, double value);
    void gauge(std::string_view name, std::string_view help, labels l, double value);
    void histogram(std::string_view name, std::string_view help, labels l, const metrics::histogram& h);

private:
    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
    };
    family_snapshot* family(std::string_view name, std::string_view help, metric_type type, const labels& l);
    shard_snapshot& _out;
    // family name -> position in _out.families; series of one family mostly come in a row: `_last` first.
    std::unordered_map<std::string, std::size_t, name_hash, std::equal_to<>> _index;
    std::size_t _last = SIZE_MAX;
};

/// Whether `name` is a valid metric (or label, with `label` set) name.
[[nodiscard]] bool valid_metric_name(std::string_view name) noexcept;
[[nodiscard]] bool valid_label_name(std::string_view name) noexcept;

namespace detail {
struct registry_core;
}

/// Keeps a series registered; destroying (or reset()) removes it. Move-only.
class registration {
public:
    registration() noexcept = default;
    registration(std::weak_ptr<detail::registry_core> core, std::uint64_t id) noexcept
        : _core(std::move(core))
        , _id(id) {}
    registration(registration&& o) noexcept
        : _core(std::move(o._core))
        , _id(o._id) {}
    registration& operator=(registration&& o) noexcept;
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() { reset(); }
    void reset() noexcept;

private:
    std::weak_ptr<detail::registry_core> _core;
    std::uint64_t _id = 0;
};

class registry {
public:
    using collector = std::function<void(sample_sink&)>;

    registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;
    ~registry();

    /// \throws std::invalid_argument for bad names or a family name already used with another type. \shard_local
    [[nodiscard]] registration add(std::string name, std::string help, labels l, const counter& c);
    [[nodiscard]] registration add(std::string name, std::string help, labels l, const gauge& g);
    [[nodiscard]] registration add(std::string name, std::string help, labels l, const histogram& h);
    /// A counter or gauge whose value `read` returns when a snapshot is taken (reads existing state). \shard_local
    [[nodiscard]] registration add_callback(std::string name, std::string help, metric_type type, labels l,
                                            std::function<double()> read);
    /// A function that reports any number of series when a snapshot is taken. \shard_local
    [[nodiscard]] registration add_collector(collector c);

    /// Every registered series' current value, families in registration order. \shard_local
    [[nodiscard]] shard_snapshot snapshot(unsigned shard = 0) const;

private:
    std::shared_ptr<detail::registry_core> _core;
};

/// The calling shard's registry (its reactor's). \shard_local
registry& local_registry();

} // namespace percore::metrics
