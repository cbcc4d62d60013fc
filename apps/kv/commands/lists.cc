// List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LRANGE LLEN LINDEX LSET LREM LTRIM.
#include <algorithm>
#include <cstdint>
#include <string>

#include "apps/kv/commands/families.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

enum class end_of_list { head, tail };

/// Turns Redis's start/stop indexes (negative: from the end) into a clamped range [first, last] of a list of
/// `len` elements. \return false when the range is empty
bool clamp_range(std::int64_t start, std::int64_t stop, std::int64_t len, std::int64_t& first,
                 std::int64_t& last) noexcept {
    if (start < 0) {
        start += len;
    }
    if (stop < 0) {
        stop += len;
    }
    start = std::max<std::int64_t>(start, 0);
    if (start > stop || start >= len) {
        return false;
    }
    first = start;
    last = std::min(stop, len - 1);
    return true;
}

/// LPUSH, RPUSH, and with `only_existing` LPUSHX, RPUSHX.
void push_generic(exec_context& ctx, argv_t argv, end_of_list where, bool only_existing) {
    const std::string_view key = argv[1];
    object* o = nullptr;
    if (only_existing) {
        bool wrong = false;
        o = typed(ctx, key, value_type::list, wrong);
        if (wrong) {
            return;
        }
        if (o == nullptr) {
            ctx.out.integer(0);
            return;
        }
    } else {
        o = ctx.db.find_or_create(key, value_type::list).first;
        if (o->type() != value_type::list) {
            ctx.out.error(err_wrongtype);
            return;
        }
    }
    list_value& l = o->list();
    for (std::size_t i = 2; i < argv.size(); ++i) {
        if (where == end_of_list::head) {
            l.emplace_front(argv[i]);
        } else {
            l.emplace_back(argv[i]);
        }
    }
    ctx.db.modified(key);
    ctx.out.integer(static_cast<std::int64_t>(l.size()));
}

void lpush_cmd(exec_context& ctx, argv_t argv) {
    push_generic(ctx, argv, end_of_list::head, false);
}
void rpush_cmd(exec_context& ctx, argv_t argv) {
    push_generic(ctx, argv, end_of_list::tail, false);
}
void lpushx_cmd(exec_context& ctx, argv_t argv) {
    push_generic(ctx, argv, end_of_list::head, true);
}
void rpushx_cmd(exec_context& ctx, argv_t argv) {
    push_generic(ctx, argv, end_of_list::tail, true);
}

/// LPOP and RPOP: one element as a bulk string, or with a count an array (a missing key: the null of that shape).
void pop_generic(exec_context& ctx, argv_t argv, end_of_list where, std::string_view name) {
    if (argv.size() > 3) {
        ctx.out.error(arity_error(name));
        return;
    }
    const bool has_count = argv.size() == 3;
    std::int64_t count = 1;
    if (has_count && !count_arg(ctx, argv[2], count)) {
        return;
    }
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::list, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        if (has_count) {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return;
    }
    if (count == 0) {
        ctx.out.array(0);
        return;
    }
    list_value& l = o->list();
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(count, static_cast<std::int64_t>(l.size())));
    if (has_count) {
        ctx.out.array(n);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (where == end_of_list::head) {
            ctx.out.bulk(l.front());
            l.pop_front();
        } else {
            ctx.out.bulk(l.back());
            l.pop_back();
        }
    }
    aggregate_changed(ctx, key, *o);
}

void lpop_cmd(exec_context& ctx, argv_t argv) {
    pop_generic(ctx, argv, end_of_list::head, "lpop");
}
void rpop_cmd(exec_context& ctx, argv_t argv) {
    pop_generic(ctx, argv, end_of_list::tail, "rpop");
}

void lrange_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t start = 0;
    std::int64_t stop = 0;
    if (!int_arg(ctx, argv[2], start) || !int_arg(ctx, argv[3], stop)) {
        return;
    }
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::list, wrong);
    if (wrong) {
        return;
    }
    std::int64_t first = 0;
    std::int64_t last = 0;
    if (o == nullptr || !clamp_range(start, stop, static_cast<std::int64_t>(o->list().size()), first, last)) {
        ctx.out.array(0);
        return;
    }
    const list_value& l = o->list();
    ctx.out.array(static_cast<std::size_t>(last - first + 1));
    for (auto it = l.begin() + first, end = l.begin() + last + 1; it != end; ++it) {
        ctx.out.bulk(*it);
    }
}

void llen_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::list, wrong);
    if (!wrong) {
        ctx.out.integer(o == nullptr ? 0 : static_cast<std::int64_t>(o->list().size()));
    }
}

/// The position of Redis index `index` (negative: from the end) in a list of `len` elements, if inside it.
bool list_position(std::int64_t index, std::size_t len, std::size_t& pos) noexcept {
    const auto n = static_cast<std::int64_t>(len);
    if (index < 0) {
        index += n;
    }
    if (index < 0 || index >= n) {
        return false;
    }
    pos = static_cast<std::size_t>(index);
    return true;
}

void lindex_cmd(exec_context& ctx, argv_t argv) {
    // Redis looks the key up before it parses the index: a missing key answers null even to "LINDEX k x".
    bool wrong = false;
    object* o = read_typed(ctx, argv[1], value_type::list, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.null();
        return;
    }
    std::int64_t index = 0;
    if (!int_arg(ctx, argv[2], index)) {
        return;
    }
    std::size_t pos = 0;
    if (list_position(index, o->list().size(), pos)) {
        ctx.out.bulk(o->list()[pos]);
    } else {
        ctx.out.null();
    }
}

void lset_cmd(exec_context& ctx, argv_t argv) {
    bool wrong = false;
    object* o = typed(ctx, argv[1], value_type::list, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.error(err_no_such_key);
        return;
    }
    std::int64_t index = 0;
    if (!int_arg(ctx, argv[2], index)) {
        return;
    }
    std::size_t pos = 0;
    if (!list_position(index, o->list().size(), pos)) {
        ctx.out.error(err_index_range);
        return;
    }
    o->list()[pos] = argv[3];
    ctx.db.modified(argv[1]);
    ctx.out.ok();
}

/// Removes up to `limit` elements equal to `value` (0: all), walking [first, last). \return the number removed
template <typename It>
std::int64_t remove_equal(It first, It last, std::string_view value, std::int64_t limit, It& new_last) {
    std::int64_t removed = 0;
    It out = first;
    for (It it = first; it != last; ++it) {
        if ((limit == 0 || removed < limit) && *it == value) {
            ++removed;
            continue;
        }
        if (out != it) {
            *out = std::move(*it);
        }
        ++out;
    }
    new_last = out;
    return removed;
}

void lrem_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t count = 0;
    if (!int_arg(ctx, argv[2], count)) {
        return;
    }
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::list, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.integer(0);
        return;
    }
    list_value& l = o->list();
    std::int64_t removed = 0;
    if (count >= 0) {
        list_value::iterator end;
        removed = remove_equal(l.begin(), l.end(), argv[3], count, end);
        l.erase(end, l.end());
    } else {
        // A negative count removes from the tail: compact towards the tail, then drop the freed head.
        const std::int64_t limit = count == INT64_MIN ? INT64_MAX : -count; // no list is that long anyway
        list_value::reverse_iterator end;
        removed = remove_equal(l.rbegin(), l.rend(), argv[3], limit, end);
        l.erase(l.begin(), end.base());
    }
    if (removed > 0) {
        aggregate_changed(ctx, key, *o);
    }
    ctx.out.integer(removed);
}

void ltrim_cmd(exec_context& ctx, argv_t argv) {
    std::int64_t start = 0;
    std::int64_t stop = 0;
    if (!int_arg(ctx, argv[2], start) || !int_arg(ctx, argv[3], stop)) {
        return;
    }
    const std::string_view key = argv[1];
    bool wrong = false;
    object* o = typed(ctx, key, value_type::list, wrong);
    if (wrong) {
        return;
    }
    if (o == nullptr) {
        ctx.out.ok();
        return;
    }
    list_value& l = o->list();
    std::int64_t first = 0;
    std::int64_t last = 0;
    if (clamp_range(start, stop, static_cast<std::int64_t>(l.size()), first, last)) {
        l.erase(l.begin() + last + 1, l.end());
        l.erase(l.begin(), l.begin() + first);
    } else {
        l.clear();
    }
    aggregate_changed(ctx, key, *o); // Redis signals the key even when nothing was trimmed
    ctx.out.ok();
}

constexpr std::string_view list_doc = "list";

const command_spec specs[] = {
    {"lpush", -3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &lpush_cmd, list_doc,
     "Inserts elements at the head of a list, creating the list if needed.", "1.0.0",
     "O(1) per element, O(N) for N elements.", "write list fast"},
    {"rpush", -3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &rpush_cmd, list_doc,
     "Appends elements at the tail of a list, creating the list if needed.", "1.0.0",
     "O(1) per element, O(N) for N elements.", "write list fast"},
    {"lpushx", -3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &lpushx_cmd, list_doc,
     "Inserts elements at the head of a list that already exists.", "2.2.0", "O(1) per element, O(N) for N elements.",
     "write list fast"},
    {"rpushx", -3, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, cmd_kind::keyed, &rpushx_cmd, list_doc,
     "Appends elements at the tail of a list that already exists.", "2.2.0", "O(1) per element, O(N) for N elements.",
     "write list fast"},
    {"lpop", -2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &lpop_cmd, list_doc,
     "Removes and returns one or more elements from the head of a list; the list is deleted once empty.", "1.0.0",
     "O(N), N being the number of elements returned.", "write list fast"},
    {"rpop", -2, cmd_write | cmd_fast, 1, 1, 1, cmd_kind::keyed, &rpop_cmd, list_doc,
     "Removes and returns one or more elements from the tail of a list; the list is deleted once empty.", "1.0.0",
     "O(N), N being the number of elements returned.", "write list fast"},
    {"lrange", 4, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &lrange_cmd, list_doc,
     "Returns the elements of a list between two indexes, both included.", "1.0.0",
     "O(N), N being the number of elements returned (reaching the start index is O(1)).", "read list slow"},
    {"llen", 2, cmd_readonly | cmd_fast, 1, 1, 1, cmd_kind::keyed, &llen_cmd, list_doc,
     "Returns the number of elements of a list.", "1.0.0", "O(1)", "read list fast"},
    {"lindex", 3, cmd_readonly, 1, 1, 1, cmd_kind::keyed, &lindex_cmd, list_doc,
     "Returns the element of a list at an index.", "1.0.0", "O(1): lists are indexed arrays here.", "read list slow"},
    {"lset", 4, cmd_write | cmd_denyoom, 1, 1, 1, cmd_kind::keyed, &lset_cmd, list_doc,
     "Replaces the element of a list at an index.", "1.0.0", "O(1): lists are indexed arrays here.", "write list slow"},
    {"lrem", 4, cmd_write, 1, 1, 1, cmd_kind::keyed, &lrem_cmd, list_doc,
     "Removes elements equal to a value from a list, from the head, the tail, or everywhere.", "1.0.0",
     "O(N), N being the length of the list.", "write list slow"},
    {"ltrim", 4, cmd_write, 1, 1, 1, cmd_kind::keyed, &ltrim_cmd, list_doc,
     "Keeps only the elements of a list between two indexes; the list is deleted if none remain.", "1.0.0",
     "O(N), N being the number of elements removed.", "write list slow"},
};

} // namespace

std::span<const command_spec> list_commands() noexcept {
    return specs;
}

} // namespace percore::kv
