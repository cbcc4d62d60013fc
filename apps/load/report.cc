#include "apps/load/report.hh"

#include <fmt/format.h>

namespace percore::load {

namespace {

double us(std::uint64_t ns) noexcept {
    return static_cast<double>(ns) / 1000.0;
}

double per_second(std::uint64_t n, double seconds) noexcept {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

// Payload in one direction, MB = 10^6 bytes.
double megabytes_per_second(const summary& s) noexcept {
    return per_second(s.messages, s.duration_s) * static_cast<double>(s.options.size) / 1e6;
}

// "set 1234 (errors 0), get 1234 (nil 12, errors 0)"
std::string kinds_line(const summary& s) {
    std::string out;
    for (std::size_t i = 0; i < s.kind_names.size(); ++i) {
        const kind_counts& k = s.kinds[i];
        out += fmt::format("{}{} {} (", i == 0 ? "" : ", ", s.kind_names[i], k.requests);
        if (s.kind_names[i] == "get" || k.nil > 0) {
            out += fmt::format("nil {}, ", k.nil);
        }
        out += fmt::format("errors {})", k.errors);
    }
    return out;
}

} // namespace

std::string format_progress(double elapsed_s, double msgs_per_s, const histogram& latency, std::uint64_t errors,
                            bool warming_up) {
    return fmt::format("[{:6.1f}s] {:10.0f} msgs/s  p50 {:8.1f} us  p99 {:8.1f} us  errors {}{}\n", elapsed_s,
                       msgs_per_s, us(latency.percentile(50)), us(latency.percentile(99)), errors,
                       warming_up ? "  (warm-up)" : "");
}

std::string format_banner(const load_options& o, unsigned shards) {
    std::string limit;
    if (o.messages > 0) {
        limit = fmt::format("{} messages", o.messages);
        if (o.duration_s > 0) {
            limit += fmt::format(" (at most {} s)", o.duration_s);
        }
    } else {
        limit = fmt::format("{} s", o.duration_s);
    }
    std::string loop = o.rate > 0 ? fmt::format("open loop at {} msgs/s", o.rate) : "closed loop";
    std::string what = fmt::format("{} B messages", o.size);
    if (o.mode == "resp") {
        what = fmt::format("commands {} over {} key{}{}, {} B values", o.commands, o.keyspace,
                           o.keyspace == 1 ? "" : "s", o.hash_tag ? " (hash-tagged)" : "", o.size);
    }
    return fmt::format("percore-load: {} to {}:{}, {} connection{} on {} shard{}, {}, depth {}, {}; "
                       "{} s warm-up, then {}\n",
                       o.mode, o.address, o.port, o.connections, o.connections == 1 ? "" : "s", shards,
                       shards == 1 ? "" : "s", what, o.depth, loop, o.warmup_s, limit);
}

std::string format_summary(const summary& s) {
    const load_options& o = s.options;
    const histogram& h = s.latency;
    std::string kinds;
    if (!s.kind_names.empty()) {
        kinds = fmt::format("commands      {}\n", kinds_line(s));
    }
    return fmt::format(
        "mode          {} ({}:{}, {})\n"
        "connections   {} (on {} shard{}), size {} B, depth {}\n"
        "messages      {} in {:.3f} s\n"
        "throughput    {:.1f} msgs/s, {:.3f} MB/s (payload, one direction)\n"
        "latency (us)  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  p999 {:.1f}  max {:.1f}\n"
        "{}"
        "errors        {}\n",
        o.mode, o.address, o.port, o.rate > 0 ? fmt::format("open loop, {} msgs/s", o.rate) : "closed loop",
        o.connections, s.shards, s.shards == 1 ? "" : "s", o.size, o.depth, s.messages, s.duration_s,
        per_second(s.messages, s.duration_s), megabytes_per_second(s), us(h.percentile(50)), us(h.percentile(90)),
        us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()), kinds, s.errors);
}

std::string format_json(const summary& s) {
    const load_options& o = s.options;
    const histogram& h = s.latency;
    // The mode and the kinds are registered names (letters only): no escaping needed.
    std::string kinds;
    if (!s.kind_names.empty()) {
        kinds = ", \"commands\": {";
        for (std::size_t i = 0; i < s.kind_names.size(); ++i) {
            const kind_counts& k = s.kinds[i];
            kinds += fmt::format("{}\"{}\": {{\"requests\": {}, \"errors\": {}, \"nil\": {}}}", i == 0 ? "" : ", ",
                                 s.kind_names[i], k.requests, k.errors, k.nil);
        }
        kinds += "}";
    }
    return fmt::format("{{\"mode\": \"{}\", \"connections\": {}, \"size\": {}, \"depth\": {}, \"duration_s\": {:.3f}, "
                       "\"messages\": {}, \"msgs_per_s\": {:.1f}, \"mb_per_s\": {:.3f}, \"p50_us\": {:.1f}, "
                       "\"p90_us\": {:.1f}, \"p99_us\": {:.1f}, \"p999_us\": {:.1f}, \"max_us\": {:.1f}, "
                       "\"errors\": {}{}}}\n",
                       o.mode, o.connections, o.size, o.depth, s.duration_s, s.messages,
                       per_second(s.messages, s.duration_s), megabytes_per_second(s), us(h.percentile(50)),
                       us(h.percentile(90)), us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()), s.errors,
                       kinds);
}

} // namespace percore::load
