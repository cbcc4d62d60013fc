#include "apps/kv/introspection.hh"

#include <algorithm>
#include <string>
#include <vector>

#include "apps/kv/command_meta.hh"
#include "apps/kv/commands/util.hh"

namespace percore::kv {

namespace {

// Redis lists flags and ACL categories in a fixed order, whatever order a table gives them in.
constexpr std::string_view flag_order =
    "write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor skip_slowlog asking "
    "fast no_auth no_mandatory_keys no_async_loading no_multi movablekeys allow_busy";
constexpr std::string_view acl_order = "keyspace read write set sortedset list hash string bitmap hyperloglog geo "
                                       "stream pubsub admin fast slow blocking dangerous connection transaction "
                                       "scripting";

// Our flag bits that mean what Redis's flag of the same name means. cmd_nomulti is not Redis's no_multi (which
// refuses a command inside MULTI): it marks what Redis hard-codes (MULTI, EXEC... run at once), so it is not shown.
constexpr std::pair<cmd_flag, std::string_view> flag_names[] = {
    {cmd_write, "write"},     {cmd_readonly, "readonly"},     {cmd_denyoom, "denyoom"},
    {cmd_admin, "admin"},     {cmd_pubsub, "pubsub"},         {cmd_noscript, "noscript"},
    {cmd_loading, "loading"}, {cmd_stale, "stale"},           {cmd_fast, "fast"},
    {cmd_noauth, "no_auth"},  {cmd_allow_busy, "allow_busy"}, {cmd_no_async_loading, "no_async_loading"},
};

void write_ordered(resp::reply_writer& out, const std::vector<std::string_view>& words, std::string_view order,
                   std::string_view prefix) {
    std::vector<std::string_view> sorted;
    for_each_word(order, [&](std::string_view o) {
        if (std::find(words.begin(), words.end(), o) != words.end()) {
            sorted.push_back(o);
        }
    });
    out.set(sorted.size());
    for (std::string_view w : sorted) {
        out.simple(std::string(prefix) + std::string(w));
    }
}

std::vector<std::string_view> words_of(std::string_view list) {
    std::vector<std::string_view> v;
    for_each_word(list, [&](std::string_view w) { v.push_back(w); });
    return v;
}

void write_tips(resp::reply_writer& out, std::string_view tips) {
    const auto words = words_of(tips);
    out.set(words.size());
    for (std::string_view t : words) {
        out.bulk(t);
    }
}

/// A key specification when the table has none: the legacy (first, last, step) triple as one range.
constexpr key_spec derived_spec(const command_spec& s) {
    const bool write = (s.flags & cmd_write) != 0;
    return {s.name, write ? "RW update" : "RO access", s.first_key,
            s.last_key < 0 ? s.last_key : s.last_key - s.first_key, s.key_step};
}

std::vector<key_spec> key_specs_of(const command_spec& s) {
    std::vector<key_spec> v;
    for (const key_spec* k : meta_of(s.name).keys) {
        v.push_back(*k);
    }
    if (v.empty() && s.first_key > 0) {
        v.push_back(derived_spec(s));
    }
    return v;
}

void write_key_spec(resp::reply_writer& out, const key_spec& k) {
    out.map(k.notes.empty() ? 3 : 4);
    if (!k.notes.empty()) {
        out.bulk("notes");
        out.bulk(k.notes);
    }
    out.bulk("flags");
    const auto flags = words_of(k.flags);
    out.set(flags.size());
    for (std::string_view f : flags) {
        out.simple(f);
    }
    out.bulk("begin_search");
    out.map(2);
    out.bulk("type");
    out.bulk("index");
    out.bulk("spec");
    out.map(1);
    out.bulk("index");
    out.integer(k.index);
    out.bulk("find_keys");
    out.map(2);
    out.bulk("type");
    out.bulk("range");
    out.bulk("spec");
    out.map(3);
    out.bulk("lastkey");
    out.integer(k.lastkey);
    out.bulk("keystep");
    out.integer(k.keystep);
    out.bulk("limit");
    out.integer(k.limit);
}

void write_sub_info(resp::reply_writer& out, const subcommand_spec& s) {
    out.array(10);
    out.bulk(s.name);
    out.integer(s.arity);
    write_ordered(out, words_of(s.flags), flag_order, "");
    out.integer(0);
    out.integer(0);
    out.integer(0);
    write_ordered(out, words_of(s.acl_categories), acl_order, "@");
    write_tips(out, s.tips);
    out.set(0); // key specifications
    out.set(0); // subcommands
}

void write_info(resp::reply_writer& out, const command_spec& s) {
    const command_meta& meta = meta_of(s.name);
    out.array(10);
    out.bulk(s.name);
    out.integer(s.arity);
    std::vector<std::string_view> flags = words_of(meta.extra_flags);
    for (const auto& [bit, name] : flag_names) {
        if ((s.flags & bit) != 0) {
            flags.push_back(name);
        }
    }
    write_ordered(out, flags, flag_order, "");
    out.integer(s.first_key);
    out.integer(s.first_key == 0 ? 0 : s.last_key);
    out.integer(s.first_key == 0 ? 0 : s.key_step);
    write_ordered(out, words_of(s.acl_categories), acl_order, "@");
    write_tips(out, meta.tips);
    const auto specs = key_specs_of(s);
    out.set(specs.size());
    for (const key_spec& k : specs) {
        write_key_spec(out, k);
    }
    const auto subs = subcommands_of(s.name);
    out.set(subs.size());
    for (const subcommand_spec& sub : subs) {
        write_sub_info(out, sub);
    }
}

void write_doc_fields(resp::reply_writer& out, std::string_view summary, std::string_view since, std::string_view group,
                      std::string_view complexity) {
    out.bulk("summary");
    out.bulk(summary);
    out.bulk("since");
    out.bulk(since);
    out.bulk("group");
    out.bulk(group);
    out.bulk("complexity");
    out.bulk(complexity);
}

void write_docs(resp::reply_writer& out, const command_spec& s) {
    const command_meta& meta = meta_of(s.name);
    const auto subs = subcommands_of(s.name);
    const bool deprecated = !meta.deprecated_since.empty();
    out.bulk(s.name);
    out.map(4 + (deprecated ? 3 : 0) + (subs.empty() ? 0 : 1));
    write_doc_fields(out, s.summary, s.since, s.group, s.complexity);
    if (deprecated) {
        out.bulk("doc_flags");
        out.set(1);
        out.simple("deprecated");
        out.bulk("deprecated_since");
        out.bulk(meta.deprecated_since);
        out.bulk("replaced_by");
        out.bulk(meta.replaced_by);
    }
    if (!subs.empty()) {
        out.bulk("subcommands");
        out.map(subs.size());
        for (const subcommand_spec& sub : subs) {
            out.bulk(sub.name);
            out.map(4);
            write_doc_fields(out, sub.summary, sub.since, s.group, sub.complexity);
        }
    }
}

/// A name as COMMAND INFO and DOCS take it: "get", "GET", "client|list".
struct named {
    const command_spec* command = nullptr;
    const subcommand_spec* sub = nullptr;
};

named lookup(std::string_view name) {
    const std::size_t bar = name.find('|');
    if (bar == std::string_view::npos) {
        return {find_command(name), nullptr};
    }
    const command_spec* c = find_command(name.substr(0, bar));
    const subcommand_spec* sub = c == nullptr ? nullptr : find_subcommand(c->name, name.substr(bar + 1));
    return sub == nullptr ? named{} : named{c, sub};
}

void command_list(argv_t argv, resp::reply_writer& out) {
    std::string_view filter;
    std::string_view value;
    if (argv.size() == 5 && iequals(argv[2], "filterby")) {
        filter = argv[3];
        value = argv[4];
    } else if (argv.size() != 2) {
        out.error(err_syntax);
        return;
    }
    if (!filter.empty() && !iequals(filter, "module") && !iequals(filter, "aclcat") && !iequals(filter, "pattern")) {
        out.error(err_syntax);
        return;
    }
    auto wanted = [&](std::string_view name, std::string_view acl) {
        if (filter.empty()) {
            return true;
        }
        if (iequals(filter, "pattern")) {
            return glob_match(value, name, true);
        }
        if (iequals(filter, "aclcat")) {
            bool found = false;
            for_each_word(
                acl, [&](std::string_view c) { found = found || (c.size() == value.size() && iequals(value, c)); });
            return found;
        }
        return false; // no modules
    };
    std::vector<std::string_view> names;
    for (const command_spec* s : all_commands()) {
        if (wanted(s->name, s->acl_categories)) {
            names.push_back(s->name);
        }
        for (const subcommand_spec& sub : subcommands_of(s->name)) {
            if (wanted(sub.name, sub.acl_categories)) {
                names.push_back(sub.name);
            }
        }
    }
    out.array(names.size());
    for (std::string_view n : names) {
        out.bulk(n);
    }
}

} // namespace

void command_command(argv_t argv, resp::reply_writer& out) {
    const auto all = all_commands();
    const std::string_view sub = argv.size() > 1 ? argv[1] : std::string_view("info");
    if (iequals(sub, "count")) {
        out.integer(static_cast<std::int64_t>(all.size()));
    } else if (iequals(sub, "list")) {
        command_list(argv, out);
    } else if (iequals(sub, "info") && argv.size() <= 2) {
        out.array(all.size());
        for (const command_spec* s : all) {
            write_info(out, *s);
        }
    } else if (iequals(sub, "info")) {
        out.array(argv.size() - 2);
        for (std::size_t i = 2; i < argv.size(); ++i) {
            const named n = lookup(argv[i]);
            if (n.sub != nullptr) {
                write_sub_info(out, *n.sub);
            } else if (n.command != nullptr) {
                write_info(out, *n.command);
            } else {
                out.null_array();
            }
        }
    } else if (iequals(sub, "docs")) {
        std::vector<named> which;
        for (const command_spec* s : all) {
            if (argv.size() == 2) {
                which.push_back({s, nullptr});
            }
        }
        for (std::size_t i = 2; i < argv.size(); ++i) {
            if (const named n = lookup(argv[i]); n.command != nullptr) {
                which.push_back(n);
            }
        }
        out.map(which.size());
        for (const named& n : which) {
            if (n.sub != nullptr) {
                out.bulk(n.sub->name);
                out.map(4);
                write_doc_fields(out, n.sub->summary, n.sub->since, n.command->group, n.sub->complexity);
            } else {
                write_docs(out, *n.command);
            }
        }
    } else if (iequals(sub, "getkeys") || iequals(sub, "getkeysandflags")) {
        command_getkeys(argv.subspan(2), iequals(sub, "getkeysandflags"), out);
    } else if (iequals(sub, "help")) {
        command_help(out);
    } else {
        out.error("ERR unknown subcommand '" + std::string(sub) + "'. Try COMMAND HELP.");
    }
}

} // namespace percore::kv
