// Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SINTER SUNION SDIFF.
//
// SINTER, SUNION and SDIFF are ordinary keyed commands: when their keys live on several shards, the cross-shard
// coordinator gathers the sets into a scratch keyspace and runs them there (cross_shard.hh).
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

/// This shard's random source for SPOP and SRANDMEMBER (a shard is a thread: no sharing, no lock).
std::mt19937_64& shard_rng() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng;
}

std::size_t random_below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(shard_rng());
}

void sadd_cmd(exec_context& ctx, argv_t argv) {
    const std::string_view key = argv[1];
    object* o = ctx.db.find_or_create(key, value_type::set).first;
    if (o->type() != value_type::set) {
        ctx.out.error(err_wrongtype);
        return;
    }
    std::int64_t added = 0;
    for (std::size_t i = 2; i < argv.size(); ++i) {
        added += o->set().add(argv[i]) ? 1 : 0;
    }
    if (added > 0) {
        ctx.db.modified(key);
    }
    ctx.out.integer(added);
}

void srem_cmd(exec_context& ctx, argv_t argv) {
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::set, wrong);
    if (wrong) {
        return;
    }
    std::int64_t removed = 0;
    if (o != nullptr) {
        for (std::size_t i = 2; i < argv.size(); ++i) {
            removed += o->set().remove(argv[i]) ? 1 : 0;
        }
        if (removed > 0) {
            aggregate_changed(ctx, key, *o);
        }
    }
    ctx.out.integer(removed);
}

void smembers_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::set, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.set(0);
        return;
    }
    ctx.out.set(o->set().size());
    for (const std::string& m : o->set().members()) {
        ctx.out.bulk(m);
    }
}

void sismember_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::set, wrong);
    if (!wrong) {
        ctx.out.integer(o != nullptr && o->set().contains(argv[2]) ? 1 : 0);
    }
}

void smismember_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::set, wrong);
    if (wrong) {
        return;
    }
    ctx.out.array(argv.size() - 2);
    for (std::size_t i = 2; i < argv.size(); ++i) {
        ctx.out.integer(o != nullptr && o->set().contains(argv[i]) ? 1 : 0);
    }
}

void scard_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::set, wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(o->set().size()));
    }
}

/// SPOP key count: a set reply of up to `count` distinct random members, removed.
void spop_count(exec_context& ctx, argv_t argv) {
    std::int64_t count = 0;
    if (!count_arg(ctx, argv[2], count)) {
        return;
    }
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::set, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr || count == 0) {
        ctx.out.set(0);
        return;
    }
    set_value& s = o->set();
    if (static_cast<std::uint64_t>(count) >= s.size()) {
        ctx.out.set(s.size());
        for (const std::string& m : s.members()) {
            ctx.out.bulk(m);
        }
        ctx.db.erase(key);
        return;
    }
    ctx.out.set(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        ctx.out.bulk(s.remove_at(random_below(s.size())));
    }
    ctx.db.modified(key);
}

void spop_cmd(exec_context& ctx, argv_t argv) {
    if (argv.size() > 3) {
        ctx.out.error(err_syntax);
        return;
    }
    if (argv.size() == 3) {
        spop_count(ctx, argv);
        return;
    }
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::set, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.null();
        return;
    }
    ctx.out.bulk(o->set().remove_at(random_below(o->set().size())));
    aggregate_changed(ctx, key, *o);
}

/// `count` distinct positions below `n` (count < n), in random order.
std::vector<std::size_t> distinct_positions(std::size_t count, std::size_t n) {
    std::vector<std::size_t> out;
    out.reserve(count);
    if (count * 4 < n) {
        // Few of many: draw until `count` distinct ones came up (expected fewer than 4/3 draws each).
        std::unordered_set<std::size_t> seen;
        while (out.size() < count) {
            const std::size_t p = random_below(n);
            if (seen.insert(p).second) {
                out.push_back(p);
            }
        }
        return out;
    }
    // Many of few: the first `count` steps of a Fisher-Yates shuffle.
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    for (std::size_t i = 0; i < count; ++i) {
        std::swap(all[i], all[i + random_below(n - i)]);
        out.push_back(all[i]);
    }
    return out;
}

/// SRANDMEMBER key count: an array of distinct random members (count >= 0), or of -count members that may repeat.
void srandmember_count(exec_context& ctx, argv_t argv) {
    std::int64_t count = 0;
    if (!int_arg(ctx, argv[2], count)) {
        return;
    }
    if (count == INT64_MIN) {
        // Its negation does not exist; Redis states the accepted range.
        ctx.out.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        return;
    }
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::set, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr || count == 0) {
        ctx.out.array(0);
        return;
    }
    const set_value& s = o->set();
    if (count < 0) {
        const auto n = static_cast<std::uint64_t>(-count);
        ctx.out.array(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            ctx.out.bulk(s.at(random_below(s.size())));
        }
        return;
    }
    if (static_cast<std::uint64_t>(count) >= s.size()) {
        ctx.out.array(s.size());
        for (const std::string& m : s.members()) {
            ctx.out.bulk(m);
        }
        return;
    }
    ctx.out.array(static_cast<std::size_t>(count));
    for (std::size_t p : distinct_positions(static_cast<std::size_t>(count), s.size())) {
        ctx.out.bulk(s.at(p));
    }
}

void srandmember_cmd(exec_context& ctx, argv_t argv) {
    if (argv.size() > 3) {
        ctx.out.error(err_syntax);
        return;
    }
    if (argv.size() == 3) {
        srandmember_count(ctx, argv);
        return;
    }
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::set, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.null();
        return;
    }
    ctx.out.bulk(o->set().at(random_below(o->set().size())));
}

enum class set_op { inter, unite, diff };

/// SINTER, SUNION, SDIFF. A missing key is an empty set; every key is type-checked before any result.
void set_algebra(exec_context& ctx, argv_t argv, set_op op) {
    std::vector<const set_value*> sets;
    sets.reserve(argv.size() - 1);
    for (std::size_t i = 1; i < argv.size(); ++i) {
        bool wrong = false;
        object* o = read_typed(ctx, argv[i], value_type::set, wrong);
        if (wrong) {
            return;
        }
        sets.push_back(o == nullptr ? nullptr : &o->set());
    }
    std::vector<std::string_view> result;
    switch (op) {
    case set_op::inter: {
        if (std::find(sets.begin(), sets.end(), nullptr) != sets.end()) {
            break;
        }
        // Walk the smallest set and probe the others, smallest first: the first miss ends a probe soonest.
        std::sort(sets.begin(), sets.end(), [](auto* a, auto* b) { return a->size() < b->size(); });
        for (const std::string& m : sets[0]->members()) {
            if (std::all_of(sets.begin() + 1, sets.end(), [&](auto* s) { return s->contains(m); })) {
                result.push_back(m);
            }
        }
        break;
    }
    case set_op::unite: {
        std::unordered_set<std::string_view> seen;
        for (const set_value* s : sets) {
            if (s == nullptr) {
                continue;
            }
            for (const std::string& m : s->members()) {
                if (seen.insert(m).second) {
                    result.push_back(m);
                }
            }
        }
        break;
    }
    case set_op::diff:
        if (sets[0] == nullptr) {
            break;
        }
        for (const std::string& m : sets[0]->members()) {
            if (std::none_of(sets.begin() + 1, sets.end(), [&](auto* s) { return s != nullptr && s->contains(m); })) {
                result.push_back(m);
            }
        }
        break;
    }
    ctx.out.set(result.size());
    for (std::string_view m : result) {
        ctx.out.bulk(m);
    }
}

void sinter_cmd(exec_context& ctx, argv_t argv) {
    set_algebra(ctx, argv, set_op::inter);
}
void sunion_cmd(exec_context& ctx, argv_t argv) {
    set_algebra(ctx, argv, set_op::unite);
}
void sdiff_cmd(exec_context& ctx, argv_t argv) {
    set_algebra(ctx, argv, set_op::diff);
}

constexpr std::string_view set_doc = "set";

const command_spec specs[] = {
    {"sadd", -3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &sadd_cmd, set_doc,
     "Adds members to a set, creating the set if needed.", "1.0.0", "O(1) per member, O(N) for N members.",
     "write set fast"},
    {"srem", -3, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &srem_cmd, set_doc,
     "Removes members from a set; the set is deleted once empty.", "1.0.0", "O(1) per member, O(N) for N members.",
     "write set fast"},
    {"smembers", 2, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &smembers_cmd, set_doc, "Returns every member of a set.",
     "1.0.0", "O(N), N being the size of the set.", "read set slow"},
    {"sismember", 3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &sismember_cmd, set_doc,
     "Tells whether a value is a member of a set.", "1.0.0", "O(1)", "read set fast"},
    {"smismember", -3, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &smismember_cmd, set_doc,
     "Tells, for each of several values, whether it is a member of a set.", "6.2.0",
     "O(N), N being the number of values checked.", "read set fast"},
    {"scard", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &scard_cmd, set_doc,
     "Returns the number of members of a set.", "1.0.0", "O(1)", "read set fast"},
    {"spop", -2, cmd_write | cmd_random | cmd_fast, 1, 1, 1, cmd_kind::keyed, &spop_cmd, set_doc,
     "Removes and returns one or more random members of a set; the set is deleted once empty.", "1.0.0",
     "O(1) for one member, O(N) for a count of N.", "write set fast"},
    {"srandmember", -2, cmd_readonly | cmd_random, 1, 1, 1, cmd_kind::keyed, &srandmember_cmd, set_doc,
     "Returns random members of a set without removing them: distinct ones for a positive count, possibly "
     "repeated ones for a negative count.",
     "1.0.0", "O(1) for one member, O(N) for a count of N or -N.", "read set slow"},
    {"sinter", -2, cmd_readonly, 1, -1, 1, cmd_kind::keyed, &sinter_cmd, set_doc,
     "Returns the members present in every one of several sets.", "1.0.0",
     "O(N*M), N being the size of the smallest set and M the number of sets.", "read set slow"},
    {"sunion", -2, cmd_readonly, 1, -1, 1, cmd_kind::keyed, &sunion_cmd, set_doc,
     "Returns the members present in at least one of several sets.", "1.0.0",
     "O(N), N being the total size of the sets.", "read set slow"},
    {"sdiff", -2, cmd_readonly, 1, -1, 1, cmd_kind::keyed, &sdiff_cmd, set_doc,
     "Returns the members of the first set that none of the other sets holds.", "1.0.0",
     "O(N), N being the total size of the sets.", "read set slow"},
};

} // namespace

std::span<const command_spec> set_commands() noexcept {
    return specs;
}

} // namespace percore::kv
