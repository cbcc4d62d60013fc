// Redis 7.0's key specifications, tips, extra flags and deprecations of the commands percore-kv has, the aggregate
// families (lists, sets, hashes, sorted sets) included. Values as redis-server 7.0.15 reports them; notes and
// replacements are in our words.
#include "apps/kv/command_meta.hh"

#include <unordered_map>

namespace percore::kv {

namespace {

constexpr key_spec key_specs[] = {
    // generic
    {"del", "RM delete", 1, -1},
    {"unlink", "RM delete", 1, -1},
    {"exists", "RO", 1, -1},
    {"touch", "RO", 1, -1},
    {"type", "RO", 1, 0},
    {"expire", "RW update", 1, 0},
    {"pexpire", "RW update", 1, 0},
    {"expireat", "RW update", 1, 0},
    {"pexpireat", "RW update", 1, 0},
    {"expiretime", "RO access", 1, 0},
    {"pexpiretime", "RO access", 1, 0},
    {"ttl", "RO access", 1, 0},
    {"pttl", "RO access", 1, 0},
    {"persist", "RW update", 1, 0},
    {"rename", "RW access delete", 1, 0},
    {"rename", "OW update", 2, 0},
    {"renamenx", "RW access delete", 1, 0},
    {"renamenx", "OW insert", 2, 0},
    {"copy", "RO access", 1, 0},
    {"copy", "OW update", 2, 0},
    {"watch", "RO", 1, -1},
    // strings
    {"get", "RO access", 1, 0},
    {"set", "RW access update variable_flags", 1, 0, 1, 0, "the old value is read only when GET is given"},
    {"setnx", "OW insert", 1, 0},
    {"setex", "OW update", 1, 0},
    {"psetex", "OW update", 1, 0},
    {"getdel", "RW access delete", 1, 0},
    {"getex", "RW access update", 1, 0, 1, 0, "writes because the options may change the key's expiry"},
    {"getset", "RW access update", 1, 0},
    {"mget", "RO access", 1, -1},
    {"mset", "OW update", 1, -1, 2},
    {"msetnx", "OW insert", 1, -1, 2},
    {"incr", "RW access update", 1, 0},
    {"decr", "RW access update", 1, 0},
    {"incrby", "RW access update", 1, 0},
    {"decrby", "RW access update", 1, 0},
    {"incrbyfloat", "RW access update", 1, 0},
    {"append", "RW insert", 1, 0},
    {"strlen", "RO", 1, 0},
    {"getrange", "RO access", 1, 0},
    {"setrange", "RW update", 1, 0},
    // lists
    {"lpush", "RW insert", 1, 0},
    {"rpush", "RW insert", 1, 0},
    {"lpushx", "RW insert", 1, 0},
    {"rpushx", "RW insert", 1, 0},
    {"lpop", "RW access delete", 1, 0},
    {"rpop", "RW access delete", 1, 0},
    {"lrange", "RO access", 1, 0},
    {"llen", "RO", 1, 0},
    {"lindex", "RO access", 1, 0},
    {"lset", "RW update", 1, 0},
    {"lrem", "RW delete", 1, 0},
    {"ltrim", "RW delete", 1, 0},
    // sets
    {"sadd", "RW insert", 1, 0},
    {"srem", "RW delete", 1, 0},
    {"smembers", "RO access", 1, 0},
    {"sismember", "RO", 1, 0},
    {"smismember", "RO access", 1, 0},
    {"scard", "RO", 1, 0},
    {"spop", "RW access delete", 1, 0},
    {"srandmember", "RO access", 1, 0},
    {"sinter", "RO access", 1, -1},
    {"sunion", "RO access", 1, -1},
    {"sdiff", "RO access", 1, -1},
    // hashes
    {"hset", "RW update", 1, 0},
    {"hsetnx", "RW insert", 1, 0},
    {"hget", "RO access", 1, 0},
    {"hmget", "RO access", 1, 0},
    {"hdel", "RW delete", 1, 0},
    {"hgetall", "RO access", 1, 0},
    {"hkeys", "RO access", 1, 0},
    {"hvals", "RO access", 1, 0},
    {"hlen", "RO", 1, 0},
    {"hexists", "RO", 1, 0},
    {"hincrby", "RW access update", 1, 0},
    {"hincrbyfloat", "RW access update", 1, 0},
    {"hmset", "RW update", 1, 0},
    {"hstrlen", "RO", 1, 0},
    // sorted sets
    {"zadd", "RW update", 1, 0},
    {"zrem", "RW delete", 1, 0},
    {"zscore", "RO access", 1, 0},
    {"zmscore", "RO access", 1, 0},
    {"zincrby", "RW access update", 1, 0},
    {"zcard", "RO", 1, 0},
    {"zcount", "RO access", 1, 0},
    {"zrank", "RO access", 1, 0},
    {"zrevrank", "RO access", 1, 0},
    {"zrange", "RO access", 1, 0},
    {"zrangebyscore", "RO access", 1, 0},
    {"zpopmin", "RW access delete", 1, 0},
    {"zpopmax", "RW access delete", 1, 0},
    {"zrevrange", "RO access", 1, 0},
    {"zrevrangebyscore", "RO access", 1, 0},
    {"zrangebylex", "RO access", 1, 0},
    {"zrevrangebylex", "RO access", 1, 0},
    {"zlexcount", "RO access", 1, 0},
};

struct extras {
    std::string_view command;
    std::string_view tips;
    std::string_view extra_flags = {};
    std::string_view deprecated_since = {};
    std::string_view replaced_by = {};
};

constexpr std::string_view multi_sum = "request_policy:multi_shard response_policy:agg_sum";
constexpr std::string_view unordered = "nondeterministic_output_order";
constexpr std::string_view random = "nondeterministic_output";

constexpr extras command_extras[] = {
    {"del", multi_sum},
    {"unlink", multi_sum},
    {"exists", multi_sum},
    {"touch", multi_sum},
    {"ttl", random},
    {"pttl", random},
    {"ping", "request_policy:all_shards response_policy:all_succeeded"},
    {"dbsize", "request_policy:all_shards response_policy:agg_sum"},
    {"flushdb", "request_policy:all_shards response_policy:all_succeeded"},
    {"flushall", "request_policy:all_shards response_policy:all_succeeded"},
    {"keys", "request_policy:all_shards nondeterministic_output_order"},
    {"scan", "nondeterministic_output request_policy:special"},
    {"randomkey", "request_policy:all_shards nondeterministic_output"},
    {"info", "nondeterministic_output request_policy:all_shards response_policy:special"},
    {"command", unordered},
    {"time", random},
    {"lastsave", random},
    {"exec", "", "skip_slowlog"},
    {"shutdown", "", "no_multi sentinel"},
    {"mget", "request_policy:multi_shard"},
    {"mset", "request_policy:multi_shard response_policy:all_succeeded"},
    {"msetnx", "request_policy:multi_shard response_policy:agg_min"},
    {"getset", "", "", "6.2.0", "SET with its GET option"},
    {"smembers", unordered},
    {"spop", random},
    {"srandmember", random},
    {"sinter", unordered},
    {"sunion", unordered},
    {"sdiff", unordered},
    {"hgetall", unordered},
    {"hkeys", unordered},
    {"hvals", unordered},
    {"hmset", "", "", "4.0.0", "HSET, which takes several fields"},
    {"zrangebyscore", "", "", "6.2.0", "ZRANGE with its BYSCORE option"},
    {"zrevrange", "", "", "6.2.0", "ZRANGE with its REV option"},
    {"zrevrangebyscore", "", "", "6.2.0", "ZRANGE with its REV and BYSCORE options"},
    {"zrangebylex", "", "", "6.2.0", "ZRANGE with its BYLEX option"},
    {"zrevrangebylex", "", "", "6.2.0", "ZRANGE with its REV and BYLEX options"},
};

struct index {
    std::unordered_map<std::string_view, command_meta> by_name;

    index() {
        for (const key_spec& k : key_specs) {
            by_name[k.command].keys.push_back(&k);
        }
        for (const extras& e : command_extras) {
            command_meta& m = by_name[e.command];
            m.tips = e.tips;
            m.extra_flags = e.extra_flags;
            m.deprecated_since = e.deprecated_since;
            m.replaced_by = e.replaced_by;
        }
    }
};

} // namespace

const command_meta& meta_of(std::string_view name) {
    static const index all;
    static const command_meta none;
    auto it = all.by_name.find(name);
    return it == all.by_name.end() ? none : it->second;
}

} // namespace percore::kv
