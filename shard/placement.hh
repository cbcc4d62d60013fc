/// \file
/// \brief The shard plan: which CPU each shard runs on, chosen from the topology and the user's constraints.
///
/// \code
/// auto plan = percore::plan_shards(percore::topology::discover(), {.shards = 4, .cpus = cpuset::parse("0-7")});
/// // plan[i].cpu is where shard i is pinned; plan[i].numa_node where its memory is bound
/// \endcode
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "shard/cpuset.hh"
#include "shard/topology.hh"

namespace percore {

enum class placement_mode {
    core,   ///< one shard per physical core (its first hardware thread): the default, no sibling contention
    thread, ///< one shard per hardware thread (PU)
};

[[nodiscard]] const char* to_string(placement_mode mode) noexcept;

struct placement_request {
    std::optional<unsigned> shards; ///< nullopt: "auto", one per usable core (or PU in thread mode)
    std::optional<cpuset> cpus;     ///< nullopt: every CPU allowed to this process
    placement_mode mode = placement_mode::core;
    bool overprovision = false; ///< allow more shards than CPUs (they share CPUs round-robin)
};

struct shard_placement {
    unsigned shard;
    unsigned cpu;
    unsigned core;
    unsigned numa_node;
};

/// \throws config_error naming the problem: a CPU that does not exist, is offline or is not allowed to this
/// process; an empty selection; zero shards; more shards than CPUs without `overprovision`.
std::vector<shard_placement> plan_shards(const topology& machine, const placement_request& request);

/// The machine and the plan as a table, for --print-topology.
[[nodiscard]] std::string describe_plan(const topology& machine, const std::vector<shard_placement>& plan);

} // namespace percore
