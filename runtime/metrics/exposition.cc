#include "runtime/metrics/exposition.hh"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace percore::metrics {

namespace {

void append_help(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_value(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        // Integers (counters, mostly) without a fraction; otherwise the shortest form that reads back the same.
        const auto r = v == std::trunc(v) && std::fabs(v) < 9.007199254740992e15
                           ? std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v))
                           : std::to_chars(buf, buf + sizeof buf, v);
        out.append(buf, r.ptr);
    }
}

/// `{shard="N",a="x"` without the closing brace, so histogram buckets can append `le`.
void append_open_labels(std::string& out, std::string_view shard, const labels& l) {
    out += "{shard=\"";
    out += shard;
    out += '"';
    for (const auto& [name, value] : l) {
        out += ',';
        out += name;
        out += "=\"";
        append_escaped_label_value(out, value);
        out += '"';
    }
}

void append_series(std::string& out, const family_snapshot& f, std::string_view shard, const series_snapshot& s) {
    if (f.type != metric_type::histogram) {
        out += f.name;
        append_open_labels(out, shard, s.labels);
        out += "} ";
        append_value(out, s.value);
        out += '\n';
        return;
    }
    std::uint64_t cumulative = 0;
    const std::size_t buckets = std::max<std::size_t>(s.bucket_counts.size(), 1);
    for (std::size_t i = 0; i < buckets; ++i) {
        cumulative += i < s.bucket_counts.size() ? s.bucket_counts[i] : s.count;
        out += f.name;
        out += "_bucket";
        append_open_labels(out, shard, s.labels);
        out += ",le=\"";
        if (i < s.upper_bounds.size()) {
            append_value(out, s.upper_bounds[i]);
        } else {
            out += "+Inf";
        }
        out += "\"} ";
        append_value(out, static_cast<double>(cumulative));
        out += '\n';
    }
    for (const char* suffix : {"_sum", "_count"}) {
        out += f.name;
        out += suffix;
        append_open_labels(out, shard, s.labels);
        out += "} ";
        append_value(out, suffix[1] == 's' ? s.sum : static_cast<double>(s.count));
        out += '\n';
    }
}

std::uint64_t hash_labels(const labels& l) noexcept {
    std::uint64_t h = 1469598103934665603ULL;
    for (const auto& [name, value] : l) {
        for (std::string_view part :
             {std::string_view(name), std::string_view("="), std::string_view(value), std::string_view("\0", 1)}) {
            for (char c : part) {
                h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
            }
        }
    }
    return h;
}

/// Which series of one shard's family to write: all but repeats of labels already seen (a series registered
/// twice would make Prometheus reject the whole scrape). Sorting hashes keeps it O(n log n) for big families.
std::vector<bool> first_occurrences(const family_snapshot& f) {
    std::vector<bool> keep(f.series.size(), true);
    if (f.series.size() < 2) {
        return keep;
    }
    std::vector<std::pair<std::uint64_t, std::size_t>> order;
    order.reserve(f.series.size());
    for (std::size_t i = 0; i < f.series.size(); ++i) {
        order.emplace_back(hash_labels(f.series[i].labels), i);
    }
    std::sort(order.begin(), order.end());
    for (std::size_t a = 0; a < order.size();) {
        std::size_t b = a + 1;
        while (b < order.size() && order[b].first == order[a].first) {
            ++b;
        }
        for (std::size_t x = a; x < b; ++x) { // equal hashes: compare for real, keep the earliest of each
            for (std::size_t y = a; y < x; ++y) {
                if (keep[order[y].second] && f.series[order[y].second].labels == f.series[order[x].second].labels) {
                    keep[order[x].second] = false;
                    break;
                }
            }
        }
        a = b;
    }
    return keep;
}

} // namespace

std::string format_sample_value(double v) {
    std::string out;
    append_value(out, v);
    return out;
}

void append_escaped_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

std::string to_prometheus_text(std::span<const shard_snapshot> shards) {
    // Family order: first appearance over the shards in order.
    struct merged {
        const family_snapshot* first;
        std::vector<std::pair<std::size_t, const family_snapshot*>> parts; // (index in `shards`, family)
    };
    std::vector<merged> families;
    std::unordered_map<std::string_view, std::size_t> index;
    std::size_t series = 0;
    for (std::size_t s = 0; s < shards.size(); ++s) {
        for (const auto& f : shards[s].families) {
            auto [it, inserted] = index.emplace(f.name, families.size());
            if (inserted) {
                families.push_back({&f, {}});
            }
            merged& m = families[it->second];
            if (m.first->type == f.type) {
                m.parts.emplace_back(s, &f);
                series += f.series.size() * (f.type == metric_type::histogram ? 12 : 1);
            }
        }
    }
    std::vector<std::string> shard_ids;
    shard_ids.reserve(shards.size());
    for (const auto& s : shards) {
        shard_ids.push_back(std::to_string(s.shard));
    }
    std::string out;
    out.reserve(series * 80 + families.size() * 120);
    for (const merged& m : families) {
        if (std::all_of(m.parts.begin(), m.parts.end(), [](const auto& p) { return p.second->series.empty(); })) {
            continue; // a family without a series (all skipped) would be a bare HELP/TYPE
        }
        out += "# HELP ";
        out += m.first->name;
        out += ' ';
        append_help(out, m.first->help);
        out += "\n# TYPE ";
        out += m.first->name;
        out += ' ';
        out += to_string(m.first->type);
        out += '\n';
        for (const auto& [s, f] : m.parts) {
            const std::vector<bool> keep = first_occurrences(*f);
            for (std::size_t i = 0; i < f->series.size(); ++i) {
                if (keep[i]) {
                    append_series(out, *m.first, shard_ids[s], f->series[i]);
                }
            }
        }
    }
    return out;
}

} // namespace percore::metrics
