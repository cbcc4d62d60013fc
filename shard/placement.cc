#include "shard/placement.hh"

#include <set>

#include <fmt/format.h>

namespace percore {

const char* to_string(placement_mode mode) noexcept {
    return mode == placement_mode::core ? "core" : "thread";
}

namespace {

void check_cpu(const topology& machine, unsigned cpu) {
    if (!machine.existing().contains(cpu)) {
        throw config_error(
            fmt::format("CPU {} does not exist on this machine (CPUs {})", cpu, machine.existing().to_string()));
    }
    if (!machine.online().contains(cpu)) {
        throw config_error(fmt::format("CPU {} is offline (online CPUs: {})", cpu, machine.online().to_string()));
    }
    if (!machine.allowed().contains(cpu)) {
        throw config_error(fmt::format("CPU {} is not allowed to this process by its affinity mask or cgroup "
                                       "(allowed: {})",
                                       cpu, machine.allowed().to_string()));
    }
}

} // namespace

std::vector<shard_placement> plan_shards(const topology& machine, const placement_request& request) {
    if (request.cpus) {
        if (request.cpus->empty()) {
            throw config_error("the cpuset is empty");
        }
        for (unsigned cpu : request.cpus->cpus()) {
            check_cpu(machine, cpu);
        }
    }
    // Candidate PUs in CPU order; in core mode only the first hardware thread of each core.
    std::vector<const processing_unit*> candidates;
    std::set<unsigned> cores_taken;
    for (const auto& pu : machine.pus()) {
        const bool selected = request.cpus ? request.cpus->contains(pu.cpu) : machine.allowed().contains(pu.cpu);
        if (!selected) {
            continue;
        }
        if (request.mode == placement_mode::core && !cores_taken.insert(pu.core).second) {
            continue;
        }
        candidates.push_back(&pu);
    }
    if (candidates.empty()) {
        throw config_error("no usable CPU: the selection " +
                           (request.cpus ? request.cpus->to_string() : machine.allowed().to_string()) +
                           " matches no online processing unit");
    }
    const unsigned usable = static_cast<unsigned>(candidates.size());
    const unsigned shards = request.shards.value_or(usable);
    if (shards == 0) {
        throw config_error("the shard count must be at least 1");
    }
    if (shards > usable && !request.overprovision) {
        const std::string selection = request.cpus ? "in cpuset " + request.cpus->to_string() : "on this machine";
        throw config_error(fmt::format(
            "{} shards requested but only {} {} available {} (one shard per {}); use --overprovision to share CPUs{}",
            shards, usable, request.mode == placement_mode::core ? "physical cores are" : "CPUs are", selection,
            request.mode == placement_mode::core ? "physical core" : "hardware thread",
            request.mode == placement_mode::core && machine.pus().size() > machine.cores()
                ? ", or --placement thread to use every hardware thread"
                : ""));
    }
    std::vector<shard_placement> plan;
    plan.reserve(shards);
    for (unsigned s = 0; s < shards; ++s) {
        const processing_unit& pu = *candidates[s % usable];
        plan.push_back({s, pu.cpu, pu.core, pu.numa_node});
    }
    return plan;
}

std::string describe_plan(const topology& machine, const std::vector<shard_placement>& plan) {
    std::string out = "machine: " + machine.describe() + "\n";
    out += fmt::format("plan: {} shard{}\n", plan.size(), plan.size() == 1 ? "" : "s");
    out += "shard  cpu  core  numa\n";
    for (const auto& p : plan) {
        out += fmt::format("{:>5}  {:>3}  {:>4}  {:>4}\n", p.shard, p.cpu, p.core, p.numa_node);
    }
    return out;
}

} // namespace percore
