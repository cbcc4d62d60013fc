#include "runtime/metrics/exposition.hh"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

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

/// `{shard="N",a="x"` without the closing brace, so callers can append `le`.
std::string open_labels(unsigned shard, const labels& l) {
    std::string s = fmt::format("{{shard=\"{}\"", shard);
    for (const auto& [name, value] : l) {
        s += ',';
        s += name;
        s += "=\"";
        append_escaped_label_value(s, value);
        s += '"';
    }
    return s;
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels_open,
                   double value) {
    out += name;
    out += suffix;
    out += labels_open;
    out += "} ";
    out += format_sample_value(value);
    out += '\n';
}

void append_series(std::string& out, const family_snapshot& f, unsigned shard, const series_snapshot& s) {
    const std::string open = open_labels(shard, s.labels);
    if (f.type != metric_type::histogram) {
        append_sample(out, f.name, "", open, s.value);
        return;
    }
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < s.bucket_counts.size(); ++i) {
        cumulative += s.bucket_counts[i];
        const std::string le = i < s.upper_bounds.size() ? format_sample_value(s.upper_bounds[i]) : "+Inf";
        append_sample(out, f.name, "_bucket", open + ",le=\"" + le + "\"", static_cast<double>(cumulative));
    }
    if (s.bucket_counts.empty()) {
        append_sample(out, f.name, "_bucket", open + ",le=\"+Inf\"", static_cast<double>(s.count));
    }
    append_sample(out, f.name, "_sum", open, s.sum);
    append_sample(out, f.name, "_count", open, static_cast<double>(s.count));
}

} // namespace

std::string format_sample_value(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::trunc(v) && std::fabs(v) < 9.007199254740992e15) {
        return fmt::format("{}", static_cast<long long>(v));
    }
    return fmt::format("{}", v);
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
        std::vector<std::pair<unsigned, const family_snapshot*>> parts;
    };
    std::vector<merged> families;
    std::unordered_map<std::string_view, std::size_t> index;
    for (const auto& shard : shards) {
        for (const auto& f : shard.families) {
            auto [it, inserted] = index.emplace(f.name, families.size());
            if (inserted) {
                families.push_back({&f, {}});
            }
            merged& m = families[it->second];
            if (m.first->type == f.type) {
                m.parts.emplace_back(shard.shard, &f);
            }
        }
    }
    std::string out;
    for (const merged& m : families) {
        out += "# HELP ";
        out += m.first->name;
        out += ' ';
        append_help(out, m.first->help);
        out += "\n# TYPE ";
        out += m.first->name;
        out += ' ';
        out += to_string(m.first->type);
        out += '\n';
        std::unordered_set<std::string> seen;
        for (const auto& [shard, f] : m.parts) {
            for (const auto& s : f->series) {
                if (seen.insert(open_labels(shard, s.labels)).second) {
                    append_series(out, *m.first, shard, s);
                }
            }
        }
    }
    return out;
}

} // namespace percore::metrics
