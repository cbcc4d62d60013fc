// Candidate tables for percore-kv's keyspace (issue 11, item 7), keyed like `key:000000012345` with a 3-byte value
// and an LRU clock per key. One benchmark run per candidate and repetition (interleaved at random across
// candidates): insert N keys timing each insert, look each up (hit), look up N absent keys (miss), erase them all.
// Counters per run: ns per insert / hit / miss / erase, bytes per key (glibc's mallinfo2: the bytes of in-use
// chunks, headers and rounding included, after the inserts), the worst single insert in microseconds (the spike
// when a table doubles; timing, so noisy), and the most nodes one insert re-filed (the same spike counted: no noise).
// Besides the table (stderr), stdout gets
//
//   RESULT kv_table.<candidate>.<figure> <median> <unit> # <min>..<max> (<n> reps) ratio <median / unordered_map's>
//
// Run: build/release/tests/bench/kv_table_bench [--keys=1000000] [--benchmark_repetitions=5]
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/container/node_hash_map.h>
#include <absl/strings/string_view.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <malloc.h>
#include <map>
#include <string>
#include <tsl/hopscotch_map.h>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include "apps/kv/key_hash.hh"
#include "apps/kv/key_node.hh"
#include "apps/kv/linear_table.hh"
#include "apps/kv/object.hh"

namespace {

using percore::kv::key_hash;
using percore::kv::key_node;
using percore::kv::object;

std::size_t key_count = 1'000'000;

/// What the old keyspace stored per key beside the key: the value and an LRU clock.
struct entry {
    object value;
    std::uint32_t lru = 0;
};

struct seeded_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return key_hash(s); }
};
struct std_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

// ---- candidates: each has insert(key), find(key) -> bool, erase(key)

/// The keyspace before this change.
struct unordered_map_candidate {
    std::unordered_map<std::string, entry, std_hash, std::equal_to<>> m;
    void insert(std::string_view k) { m.emplace(std::string(k), entry{object("abc"), 1}); }
    bool find(std::string_view k) { return m.find(k) != m.end(); }
    void erase(std::string_view k) { m.erase(m.find(k)); }
    [[nodiscard]] std::size_t buckets() const { return m.bucket_count(); }
};

// Debian's absl has its own string_view (built for C++14), so lookups convert.
struct absl_flat_candidate {
    absl::flat_hash_map<std::string, entry> m;
    void insert(std::string_view k) { m.emplace(std::string(k), entry{object("abc"), 1}); }
    bool find(std::string_view k) { return m.find(absl::string_view(k.data(), k.size())) != m.end(); }
    void erase(std::string_view k) { m.erase(m.find(absl::string_view(k.data(), k.size()))); }
    [[nodiscard]] std::size_t buckets() const { return m.capacity(); }
};

struct absl_node_candidate {
    absl::node_hash_map<std::string, entry> m;
    void insert(std::string_view k) { m.emplace(std::string(k), entry{object("abc"), 1}); }
    bool find(std::string_view k) { return m.find(absl::string_view(k.data(), k.size())) != m.end(); }
    void erase(std::string_view k) { m.erase(m.find(absl::string_view(k.data(), k.size()))); }
    [[nodiscard]] std::size_t buckets() const { return m.capacity(); }
};

struct hopscotch_candidate {
    tsl::hopscotch_map<std::string, entry, seeded_hash, std::equal_to<>> m;
    void insert(std::string_view k) { m.emplace(std::string(k), entry{object("abc"), 1}); }
    bool find(std::string_view k) { return m.find(k) != m.end(); }
    void erase(std::string_view k) { m.erase(m.find(k)); }
    [[nodiscard]] std::size_t buckets() const { return m.bucket_count(); }
};

/// The compact node (key, value, LRU in one allocation) in a swiss table of pointers.
struct absl_nodeptr_candidate {
    struct node_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return key_hash(s); }
        std::size_t operator()(const key_node* n) const noexcept { return key_hash(n->key()); }
    };
    struct node_eq {
        using is_transparent = void;
        static std::string_view view(std::string_view s) noexcept { return s; }
        static std::string_view view(const key_node* n) noexcept { return n->key(); }
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const noexcept {
            return view(a) == view(b);
        }
    };
    absl::flat_hash_set<key_node*, node_hash, node_eq> m;
    ~absl_nodeptr_candidate() {
        for (key_node* n : m) {
            key_node::destroy(n);
        }
    }
    void insert(std::string_view k) { m.insert(key_node::create(k, object("abc"))); }
    bool find(std::string_view k) { return m.find(k) != m.end(); }
    void erase(std::string_view k) {
        auto it = m.find(k);
        key_node* n = *it;
        m.erase(it);
        key_node::destroy(n);
    }
    [[nodiscard]] std::size_t buckets() const { return m.capacity(); }
};

/// Counts the nodes a linear table re-files (it re-derives their hash when it splits a bucket).
std::size_t rehashed = 0;
struct counting_hash {
    std::uint64_t operator()(const key_node& n) const noexcept {
        ++rehashed;
        return percore::kv::key_node_hash{}(n);
    }
};

/// The chosen one: compact nodes chained in a linear-hashing table (max load in eighths of a key per bucket).
template <unsigned Load8>
struct linear_candidate {
    static constexpr bool counts_moves = true;
    percore::kv::linear_table<key_node, counting_hash> t{Load8};
    ~linear_candidate() {
        t.clear([](key_node* n) { key_node::destroy(n); });
    }
    key_node* lookup(std::string_view k, std::uint64_t h) {
        return t.find(h, [k](const key_node& n) { return n.is(k); });
    }
    void insert(std::string_view k) { t.insert(key_node::create(k, object("abc")), key_hash(k)); }
    bool find(std::string_view k) { return lookup(k, key_hash(k)) != nullptr; }
    void erase(std::string_view k) {
        const std::uint64_t h = key_hash(k);
        key_node* n = lookup(k, h);
        t.remove(n, h);
        key_node::destroy(n);
    }
};

// ---- one run

std::size_t heap_in_use() {
    const struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

void make_key(char* buf, std::size_t i) {
    std::snprintf(buf, 17, "key:%012zu", i);
}

/// Nodes the last insert re-filed: a linear table counts them; the others rehash everything when they grow.
template <typename Candidate>
std::size_t moves(const Candidate& c, std::size_t buckets_before, std::size_t size_before) {
    if constexpr (requires { Candidate::counts_moves; }) {
        (void)c, (void)buckets_before, (void)size_before;
        const std::size_t n = rehashed;
        rehashed = 0;
        return n;
    } else {
        return c.buckets() != buckets_before ? size_before : 0;
    }
}

template <typename Candidate>
std::size_t buckets_of(const Candidate& c) {
    if constexpr (requires { Candidate::counts_moves; }) {
        return c.t.bucket_count();
    } else {
        return c.buckets();
    }
}

// Out of line, so that `valgrind --tool=callgrind` gives each operation's instructions as the inclusive cost of
// these functions (callgrind_annotate --inclusive=yes): figures that the machine's noise cannot move.
template <typename C>
[[gnu::noinline]] void op_insert(C& c, std::string_view k) {
    c.insert(k);
}
template <typename C>
[[gnu::noinline]] bool op_hit(C& c, std::string_view k) {
    return c.find(k);
}
template <typename C>
[[gnu::noinline]] bool op_miss(C& c, std::string_view k) {
    return c.find(k);
}
template <typename C>
[[gnu::noinline]] void op_erase(C& c, std::string_view k) {
    c.erase(k);
}

template <typename Candidate>
void run_table(benchmark::State& state) {
    using clock = std::chrono::steady_clock;
    const std::size_t n = key_count;
    char key[17];
    for (auto _ : state) {
        const std::size_t before = heap_in_use();
        auto* c = new Candidate();
        double worst_ns = 0;
        std::size_t worst_moves = 0;
        rehashed = 0;
        const auto t0 = clock::now();
        auto last = t0;
        for (std::size_t i = 0; i < n; ++i) {
            make_key(key, i);
            const std::size_t buckets = buckets_of(*c);
            op_insert(*c, std::string_view(key, 16));
            worst_moves = std::max(worst_moves, moves(*c, buckets, i));
            const auto now = clock::now();
            worst_ns = std::max(worst_ns, static_cast<double>((now - last).count()));
            last = now;
        }
        const auto t1 = clock::now();
        const std::size_t after = heap_in_use();
        std::size_t found = 0;
        for (std::size_t i = 0; i < n; ++i) {
            make_key(key, (i * 7919) % n); // an order unlike the insertion's
            found += op_hit(*c, std::string_view(key, 16)) ? 1 : 0;
        }
        const auto t2 = clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            make_key(key, n + i);
            found += op_miss(*c, std::string_view(key, 16)) ? 1 : 0;
        }
        const auto t3 = clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            make_key(key, i);
            op_erase(*c, std::string_view(key, 16));
        }
        const auto t4 = clock::now();
        delete c;
        if (found != n) {
            state.SkipWithError("lookups found the wrong number of keys");
        }
        // Without the snprintf every loop pays (measured apart and taken off).
        const auto k0 = clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            make_key(key, i);
            benchmark::DoNotOptimize(key);
        }
        const double key_ns = static_cast<double>((clock::now() - k0).count()) / static_cast<double>(n);
        auto per = [&](clock::duration d) { return static_cast<double>(d.count()) / static_cast<double>(n) - key_ns; };
        state.counters["insert_ns"] = per(t1 - t0) - 20; // the two clock reads around each insert, roughly
        state.counters["hit_ns"] = per(t2 - t1);
        state.counters["miss_ns"] = per(t3 - t2);
        state.counters["erase_ns"] = per(t4 - t3);
        state.counters["bytes_per_key"] = static_cast<double>(after - before) / static_cast<double>(n);
        state.counters["worst_insert_us"] = worst_ns / 1000;
        state.counters["worst_insert_moves"] = static_cast<double>(worst_moves);
    }
}

// ---- reporting

class result_reporter final : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.run_type != Run::RT_Iteration || run.error_occurred) {
                continue;
            }
            for (const auto& [name, counter] : run.counters) {
                _samples[run.run_name.function_name][name].push_back(counter.value);
            }
        }
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        const auto base = _samples.find("unordered_map");
        for (auto& [candidate, figures] : _samples) {
            for (auto& [figure, values] : figures) {
                std::sort(values.begin(), values.end());
                const double med = median(values);
                std::printf("RESULT kv_table.%s.%s %.2f %s # %.2f..%.2f (%zu reps)", candidate.c_str(), figure.c_str(),
                            med, unit(figure), values.front(), values.back(), values.size());
                if (base != _samples.end() && base->second.count(figure) != 0) {
                    auto b = base->second.at(figure);
                    std::sort(b.begin(), b.end());
                    std::printf(" ratio %.3f", med / median(b));
                }
                std::printf("\n");
            }
        }
        std::fflush(stdout);
    }

private:
    static const char* unit(const std::string& figure) {
        if (figure.ends_with("_ns")) {
            return "ns";
        }
        if (figure.ends_with("_us")) {
            return "us";
        }
        if (figure.ends_with("_moves")) {
            return "nodes";
        }
        return "bytes";
    }
    static double median(const std::vector<double>& sorted) {
        const std::size_t n = sorted.size();
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
    std::map<std::string, std::map<std::string, std::vector<double>>> _samples;
};

template <typename Candidate>
void add(const char* name) {
    benchmark::RegisterBenchmark(name, run_table<Candidate>)->Iterations(1)->Unit(benchmark::kMillisecond);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<char*> args{argv[0]};
    static char repetitions[] = "--benchmark_repetitions=5";
    static char interleave[] = "--benchmark_enable_random_interleaving=true";
    args.push_back(repetitions);
    args.push_back(interleave);
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--keys=", 7) == 0) {
            key_count = std::stoul(argv[i] + 7);
        } else {
            args.push_back(argv[i]);
        }
    }
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) {
        return 2;
    }
    add<unordered_map_candidate>("unordered_map");
    add<absl_flat_candidate>("absl_flat_hash_map");
    add<absl_node_candidate>("absl_node_hash_map");
    add<hopscotch_candidate>("tsl_hopscotch_map");
    add<absl_nodeptr_candidate>("absl_flat_set_of_nodes");
    add<linear_candidate<8>>("linear_load1");
    add<linear_candidate<12>>("linear_load1.5");
    add<linear_candidate<16>>("linear_load2");
    result_reporter reporter;
    reporter.SetOutputStream(&std::cerr);
    reporter.SetErrorStream(&std::cerr);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
