#include "runtime/metrics/registry.hh"

#include <algorithm>
#include <stdexcept>

#include "runtime/log.hh"
#include "runtime/reactor.hh"

namespace percore::metrics {

namespace {

logger metrics_log("metrics");

bool name_char(char c, bool first, bool colon) noexcept {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    return alpha || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) noexcept {
    if (name.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!name_char(name[i], i == 0, colon)) {
            return false;
        }
    }
    return true;
}

/// Empty when fine, else why not.
std::string check_labels(std::string_view name, const labels& l) {
    for (std::size_t i = 0; i < l.size(); ++i) {
        if (!valid_label_name(l[i].first) || l[i].first == "shard") {
            return fmt::format("metric '{}': '{}' is not a valid label name (and 'shard' is reserved)", name,
                               l[i].first);
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (l[j].first == l[i].first) {
                return fmt::format("metric '{}': label '{}' given twice", name, l[i].first);
            }
        }
    }
    return {};
}

std::string check_series(std::string_view name, const labels& l) {
    if (!valid_metric_name(name)) {
        return fmt::format("'{}' is not a valid metric name", name);
    }
    return check_labels(name, l);
}

} // namespace

const char* to_string(metric_type t) noexcept {
    switch (t) {
    case metric_type::counter:
        return "counter";
    case metric_type::gauge:
        return "gauge";
    case metric_type::histogram:
        return "histogram";
    }
    return "untyped";
}

bool valid_metric_name(std::string_view name) noexcept {
    return valid_name(name, true);
}

bool valid_label_name(std::string_view name) noexcept {
    return valid_name(name, false) && !name.starts_with("__");
}

family_snapshot* sample_sink::family(std::string_view name, std::string_view help, metric_type type, const labels& l) {
    // A collector's series are checked each time (the name once per family): a bad one is skipped (and logged
    // once per shard) rather than failing the whole scrape.
    static constinit thread_local bool warned = false;
    auto skip = [&](const std::string& why) -> family_snapshot* {
        if (!warned) {
            warned = true;
            metrics_log.warn("series skipped: {}", why);
        }
        return nullptr;
    };
    if (!l.empty()) {
        if (std::string why = check_labels(name, l); !why.empty()) {
            return skip(why);
        }
    }
    if (_last >= _out.families.size() || _out.families[_last].name != name) {
        auto it = _index.find(name);
        if (it == _index.end()) {
            if (!valid_metric_name(name)) {
                return skip(fmt::format("'{}' is not a valid metric name", name));
            }
            it = _index.emplace(std::string(name), _out.families.size()).first;
            _out.families.push_back({std::string(name), std::string(help), type, {}});
        }
        _last = it->second;
    }
    family_snapshot& f = _out.families[_last];
    if (f.type != type) {
        return skip(fmt::format("'{}' is a {}, reported as a {}", name, to_string(f.type), to_string(type)));
    }
    return &f;
}

void sample_sink::counter(std::string_view name, std::string_view help, labels l, double value) {
    if (family_snapshot* f = family(name, help, metric_type::counter, l)) {
        f->series.push_back({.labels = std::move(l), .value = value});
    }
}

void sample_sink::gauge(std::string_view name, std::string_view help, labels l, double value) {
    if (family_snapshot* f = family(name, help, metric_type::gauge, l)) {
        f->series.push_back({.labels = std::move(l), .value = value});
    }
}

void sample_sink::histogram(std::string_view name, std::string_view help, labels l, const metrics::histogram& h) {
    if (family_snapshot* f = family(name, help, metric_type::histogram, l)) {
        series_snapshot s{.labels = std::move(l)};
        s.upper_bounds.assign(h.upper_bounds().begin(), h.upper_bounds().end());
        s.bucket_counts.assign(h.bucket_counts().begin(), h.bucket_counts().end());
        s.sum = h.sum();
        s.count = h.count();
        f->series.push_back(std::move(s));
    }
}

namespace detail {

struct registry_entry {
    std::uint64_t id;
    std::string name;
    std::string help;
    metric_type type;
    labels l;
    std::variant<const counter*, const gauge*, const histogram*, std::function<double()>, registry::collector> source;
};

struct registry_core {
    std::vector<registry_entry> entries;
    std::uint64_t next_id = 1;
    std::uint64_t generation = 0; // bumped by every change of `entries`

    registration add(std::string name, std::string help, metric_type type, labels l,
                     decltype(registry_entry::source) source, const std::shared_ptr<registry_core>& self) {
        if (std::string why = check_series(name, l); !why.empty()) {
            throw std::invalid_argument(why);
        }
        for (const auto& e : entries) {
            if (e.name == name && e.type != type) {
                throw std::invalid_argument(
                    fmt::format("metric '{}' is already registered as a {}", name, to_string(e.type)));
            }
        }
        const std::uint64_t id = next_id++;
        entries.push_back({id, std::move(name), std::move(help), type, std::move(l), std::move(source)});
        ++generation;
        return registration(self, id);
    }
};

} // namespace detail

registration& registration::operator=(registration&& o) noexcept {
    if (this != &o) {
        reset();
        _core = std::move(o._core);
        _id = o._id;
    }
    return *this;
}

void registration::reset() noexcept {
    if (auto core = _core.lock()) {
        std::erase_if(core->entries, [this](const detail::registry_entry& e) { return e.id == _id; });
        ++core->generation;
    }
    _core.reset();
}

registry::registry()
    : _core(std::make_shared<detail::registry_core>()) {
}

registry::~registry() = default;

registration registry::add(std::string name, std::string help, labels l, const counter& c) {
    return _core->add(std::move(name), std::move(help), metric_type::counter, std::move(l), &c, _core);
}

registration registry::add(std::string name, std::string help, labels l, const gauge& g) {
    return _core->add(std::move(name), std::move(help), metric_type::gauge, std::move(l), &g, _core);
}

registration registry::add(std::string name, std::string help, labels l, const histogram& h) {
    return _core->add(std::move(name), std::move(help), metric_type::histogram, std::move(l), &h, _core);
}

registration registry::add_callback(std::string name, std::string help, metric_type type, labels l,
                                    std::function<double()> read) {
    if (type == metric_type::histogram) {
        throw std::invalid_argument("add_callback reads counters and gauges; register a histogram with add()");
    }
    return _core->add(std::move(name), std::move(help), type, std::move(l), std::move(read), _core);
}

registration registry::add_collector(collector c) {
    const std::uint64_t id = _core->next_id++;
    _core->entries.push_back({id, {}, {}, metric_type::gauge, {}, std::move(c)});
    ++_core->generation;
    return registration(_core, id);
}

shard_snapshot registry::snapshot(unsigned shard) const {
    shard_snapshot out{.shard = shard, .families = {}};
    sample_sink sink(out);
    auto& entries = _core->entries;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::uint64_t id = entries[i].id;
        const std::uint64_t generation = _core->generation;
        // Callbacks and collectors run from a copy (a small closure: no allocation), and the entry is looked up
        // again if they changed the registry meanwhile (registering or unregistering moves entries). Entries stay
        // in id order, so the walk goes on after the position `id` had, whether it is still there or not.
        auto still_there = [&] {
            if (_core->generation == generation) {
                return true;
            }
            auto it = std::lower_bound(entries.begin(), entries.end(), id,
                                       [](const detail::registry_entry& e, std::uint64_t v) { return e.id < v; });
            const bool found = it != entries.end() && it->id == id;
            // The loop's ++i moves to the entry after `id`'s place.
            i = static_cast<std::size_t>(it - entries.begin()) - (found ? 0 : 1);
            return found;
        };
        const detail::registry_entry& e = entries[i];
        if (const auto* c = std::get_if<const counter*>(&e.source)) {
            sink.counter(e.name, e.help, e.l, static_cast<double>((*c)->value()));
        } else if (const auto* g = std::get_if<const gauge*>(&e.source)) {
            sink.gauge(e.name, e.help, e.l, (*g)->value());
        } else if (const auto* h = std::get_if<const histogram*>(&e.source)) {
            sink.histogram(e.name, e.help, e.l, **h);
        } else if (const auto* read = std::get_if<std::function<double()>>(&e.source)) {
            const double v = std::function<double()>(*read)();
            if (still_there()) {
                const detail::registry_entry& now = entries[i];
                if (now.type == metric_type::counter) {
                    sink.counter(now.name, now.help, now.l, v);
                } else {
                    sink.gauge(now.name, now.help, now.l, v);
                }
            }
        } else {
            registry::collector collect = std::get<registry::collector>(e.source);
            collect(sink);
            (void)still_there();
        }
    }
    return out;
}

registry& local_registry() {
    return this_reactor().metrics();
}

} // namespace percore::metrics
