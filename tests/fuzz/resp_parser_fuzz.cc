// libFuzzer target for resp::request_parser. Each input is parsed fed whole, then split at random places (one
// byte at a time when short), releasing after every receive or after every command, and once under a tiny query
// buffer limit. Checked:
// - nothing crashes; every argument is read in full (ASan: it lies in live memory), when returned and again
//   just before release_consumed() (the arguments of every command returned since stay valid until then);
// - an argument lies wholly inside one fed receive or wholly outside all of them (gathered or unquoted), and a
//   command's arguments all come from the same place: sliced from one receive, or from the parser's storage;
// - fed whole, the arguments sliced from the receive come in the stream's order;
// - every split yields the commands and the error of the whole feed. Only the size limits ("too big ..." and the
//   query buffer) depend on where a stream is split, as in Redis: then one outcome's commands are a prefix of
//   the other's.
//
// Input: one byte of options, then the stream. Bit 0: unauthenticated. Bit 1: tiny limits (lines of 16 bytes,
// bulks of 64, 8 arguments), to reach the limit paths with short inputs. Bits 2-7: seed of the split points.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kv/resp/request_parser.hh"

using namespace percore;
using kv::resp::parse_limits;
using kv::resp::parse_status;
using kv::resp::request_parser;

namespace {

struct outcome {
    std::vector<std::vector<std::string>> commands;
    std::string error;
    bool silent = false;
    bool operator==(const outcome&) const = default;
};

enum class release_at { need_more, every_command };

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "resp_parser_fuzz: invariant violated: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what) {
    if (!ok) {
        violated(what);
    }
}

struct range {
    const char* data;
    std::size_t size;
    [[nodiscard]] bool overlaps(std::string_view a) const noexcept {
        return a.data() < data + size && a.data() + a.size() > data;
    }
    [[nodiscard]] bool holds(std::string_view a) const noexcept {
        return a.data() >= data && a.data() + a.size() <= data + size;
    }
};

/// Feeds `stream` cut at `cuts` (ascending); `check_slices`: slices must come in order (fed whole).
outcome run(std::string_view stream, const std::vector<std::size_t>& cuts, const parse_limits& limits,
            bool authenticated, release_at when, bool check_slices = false) {
    request_parser p(limits);
    p.set_authenticated(authenticated);
    outcome o;
    std::vector<std::string_view> argv;
    std::vector<range> live; // receives fed since the last release, and the one being parsed
    // Commands returned since the last release: their arguments, and what they read when returned.
    std::vector<std::pair<std::vector<std::string_view>, std::size_t>> unreleased;
    auto verify = [&] {
        for (const auto& [views, index] : unreleased) {
            require(std::equal(views.begin(), views.end(), o.commands[index].begin(), o.commands[index].end()),
                    "an argument changed before release_consumed()");
        }
    };
    auto release = [&] {
        verify();
        unreleased.clear();
        p.release_consumed();
    };
    std::size_t fed = 0;
    const char* last_slice = nullptr;
    std::size_t from = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t to = i < cuts.size() ? cuts[i] : stream.size();
        net::buffer b = net::buffer::copy_of(stream.substr(from, to - from));
        from = to;
        fed += b.size();
        if (!b.empty()) {
            live.push_back({b.data(), b.size()});
        }
        p.feed(std::move(b));
        parse_status s;
        while ((s = p.next(argv)) == parse_status::command) {
            require(!argv.empty(), "an empty command is returned");
            int home = -2; // index in `live` of the receive the arguments come from; -1: none of them
            for (std::string_view a : argv) {
                int where = -1;
                for (std::size_t r = 0; r < live.size(); ++r) {
                    if (live[r].overlaps(a)) {
                        require(live[r].holds(a), "an argument straddles the end of a receive");
                        where = static_cast<int>(r);
                    }
                }
                require(home == -2 || home == where, "a command's arguments come from different places");
                home = where;
                if (check_slices && where >= 0) {
                    require(a.data() >= last_slice, "slices go backwards");
                    last_slice = a.data();
                }
            }
            o.commands.emplace_back(argv.begin(), argv.end()); // reads every byte (ASan checks it is live)
            unreleased.emplace_back(argv, o.commands.size() - 1);
            if (when == release_at::every_command) {
                release();
                live.erase(live.begin(), live.end() - (live.empty() ? 0 : 1));
            }
        }
        if (s == parse_status::error) {
            verify(); // the session still runs the commands before the error
            require(p.failed() && !p.error().empty(), "an error without a text");
            o.error = p.error();
            o.silent = p.close_silently();
            require(p.next(argv) == parse_status::error, "an error does not stay");
            return o;
        }
        require(p.next(argv) == parse_status::need_more, "need_more does not stay");
        require(p.buffered() <= fed, "more buffered than fed");
        release();
        live.clear();
    }
    return o;
}

/// Only the size limits depend on where the stream was cut.
bool split_dependent(const outcome& o) {
    return o.silent || o.error.starts_with("ERR Protocol error: too big");
}

bool is_prefix(const outcome& shorter, const outcome& longer) {
    if (shorter.commands.size() > longer.commands.size()) {
        return false;
    }
    for (std::size_t i = 0; i < shorter.commands.size(); ++i) {
        if (shorter.commands[i] != longer.commands[i]) {
            return false;
        }
    }
    return true;
}

void require_same(const outcome& whole, const outcome& split, const char* what) {
    if (whole == split) {
        return;
    }
    if ((split_dependent(whole) && is_prefix(whole, split)) || (split_dependent(split) && is_prefix(split, whole))) {
        return;
    }
    violated(what);
}

struct rng {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    std::size_t below(std::size_t n) noexcept { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

std::vector<std::size_t> random_cuts(rng& r, std::size_t size) {
    std::vector<std::size_t> cuts;
    if (size < 2) {
        return cuts;
    }
    const std::size_t n = 1 + r.below(std::min<std::size_t>(size, 16));
    for (std::size_t i = 0; i < n; ++i) {
        cuts.push_back(1 + r.below(size - 1));
    }
    std::sort(cuts.begin(), cuts.end());
    return cuts;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t options = data[0];
    const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bool authenticated = (options & 1) == 0;
    parse_limits limits;
    limits.max_query_buffer = 1 << 20; // never reached by a fuzz input, but a header may reserve up to it
    if ((options & 2) != 0) {
        limits.max_inline = 16;
        limits.max_bulk = 64;
        limits.max_args = 8;
    }
    rng r{0x9e3779b97f4a7c15ULL ^ (static_cast<std::uint64_t>(options >> 2) << 32) ^ stream.size()};

    const outcome whole = run(stream, {}, limits, authenticated, release_at::need_more, true);
    require_same(whole, run(stream, random_cuts(r, stream.size()), limits, authenticated, release_at::need_more),
                 "a random split parses differently");
    require_same(whole, run(stream, random_cuts(r, stream.size()), limits, authenticated, release_at::every_command),
                 "a random split, released after every command, parses differently");
    if (stream.size() <= 512) {
        std::vector<std::size_t> every;
        for (std::size_t i = 1; i < stream.size(); ++i) {
            every.push_back(i);
        }
        require_same(whole, run(stream, every, limits, authenticated, release_at::need_more),
                     "one byte at a time parses differently");
    }
    // A tiny query buffer: a command that spans receives may be refused (silently), and nothing else changes.
    parse_limits tiny = limits;
    tiny.max_query_buffer = 8;
    const outcome limited = run(stream, random_cuts(r, stream.size()), tiny, authenticated, release_at::need_more);
    if (!(limited == whole)) {
        require(split_dependent(limited) || split_dependent(whole), "the query buffer limit changes the commands");
        require(is_prefix(limited, whole) || is_prefix(whole, limited), "the query buffer limit reorders commands");
    }
    return 0;
}
