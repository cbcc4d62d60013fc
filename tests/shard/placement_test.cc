#include <string>

#include <doctest/doctest.h>

#include "shard/placement.hh"
#include "shard/topology.hh"

using namespace percore;

namespace {

std::string plan_error(const topology& t, const placement_request& r) {
    try {
        (void)plan_shards(t, r);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

/// 8 CPUs: cores 0-3 with two hardware threads each (CPU n and n+4 are siblings), two NUMA nodes; CPU 7 offline,
/// CPU 6 online but not allowed to this process; CPU 8 does not exist.
topology odd_machine() {
    std::vector<processing_unit> pus;
    for (unsigned cpu = 0; cpu < 7; ++cpu) {
        const unsigned core = cpu % 4;
        pus.push_back({cpu, core, 0, core < 2 ? 0u : 1u});
    }
    return topology::from_parts(pus, cpuset::parse("0-7"), cpuset::parse("0-6"), cpuset::parse("0-5"));
}

} // namespace

TEST_SUITE("shard/placement") {
    TEST_CASE("the machine hwloc reports has at least one usable CPU and a plan for auto") {
        const topology t = topology::discover();
        CHECK(!t.pus().empty());
        CHECK(t.cores() >= 1);
        CHECK(t.numa_nodes() >= 1);
        const auto plan = plan_shards(t, {});
        CHECK(plan.size() == t.cores()); // auto: one per physical core
        CHECK(describe_plan(t, plan).find("shard  cpu  core  numa") != std::string::npos);
    }

    TEST_CASE("auto gives one shard per core, spread over the NUMA nodes of a synthetic machine") {
        const topology t = topology::synthetic("package:2 numa:1 core:4 pu:2");
        CHECK(t.pus().size() == 16);
        CHECK(t.cores() == 8);
        CHECK(t.numa_nodes() == 2);
        const auto plan = plan_shards(t, {});
        REQUIRE(plan.size() == 8);
        unsigned on_node[2] = {0, 0};
        for (const auto& p : plan) {
            ++on_node[p.numa_node];
            CHECK(t.find(p.cpu)->core == p.core);
        }
        CHECK(on_node[0] == 4);
        CHECK(on_node[1] == 4);
        CHECK(plan_shards(t, {.mode = placement_mode::thread}).size() == 16);
    }

    TEST_CASE("a cpuset and a shard count narrow the plan") {
        const topology t = topology::synthetic("package:1 core:4 pu:2");
        const auto plan = plan_shards(t, {.shards = 2, .cpus = cpuset::parse("2-5")});
        REQUIRE(plan.size() == 2);
        for (const auto& p : plan) {
            CHECK(p.cpu >= 2);
            CHECK(p.cpu <= 5);
        }
        CHECK(plan[0].core != plan[1].core); // core mode: never two shards on sibling threads
    }

    TEST_CASE("each bad request is refused with an error that names the problem") {
        const topology t = odd_machine();
        CHECK(plan_error(t, {.cpus = cpuset::parse("0,8")}).find("CPU 8 does not exist") != std::string::npos);
        CHECK(plan_error(t, {.cpus = cpuset::parse("7")}).find("CPU 7 is offline") != std::string::npos);
        CHECK(plan_error(t, {.cpus = cpuset::parse("6")}).find("CPU 6 is not allowed") != std::string::npos);
        CHECK(plan_error(t, {.cpus = cpuset()}).find("empty") != std::string::npos);
        CHECK(plan_error(t, {.shards = 0}).find("at least 1") != std::string::npos);
        const std::string too_many = plan_error(t, {.shards = 9});
        CHECK(too_many.find("9 shards requested but only 4") != std::string::npos);
        CHECK(too_many.find("--overprovision") != std::string::npos);
        CHECK(too_many.find("--placement thread") != std::string::npos);
    }

    TEST_CASE("overprovisioning shares CPUs round-robin") {
        const topology t = odd_machine();
        const auto plan = plan_shards(t, {.shards = 10, .overprovision = true});
        REQUIRE(plan.size() == 10);
        CHECK(plan[0].cpu == plan[4].cpu);
        CHECK(plan[9].cpu == plan[1].cpu);
    }

    TEST_CASE("describe names offline and disallowed CPUs") {
        const std::string d = odd_machine().describe();
        CHECK(d.find("online CPUs 0-6 of 0-7") != std::string::npos);
        CHECK(d.find("allowed to this process: 0-5") != std::string::npos);
    }
}
