/// \file
/// \brief The machine as hwloc sees it: processing units, cores, packages, NUMA nodes, caches, and which CPUs
/// exist, are online and are allowed to this process.
///
/// \code
/// percore::topology t = percore::topology::discover();
/// std::cout << t.describe();            // "1 package, 2 cores, 2 PUs, 1 NUMA node; L1d 32 KiB, ..."
/// \endcode
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shard/cpuset.hh"

namespace percore {

struct processing_unit {
    unsigned cpu;       ///< OS index, as in /proc/cpuinfo and taskset
    unsigned core;      ///< logical index of its physical core
    unsigned package;   ///< logical index of its package (socket)
    unsigned numa_node; ///< OS index of its NUMA node
};

struct cache_level {
    unsigned level;
    std::uint64_t size_bytes;
    unsigned shared_by_pus;
};

class topology {
public:
    /// Reads the running machine. \throws std::runtime_error if hwloc cannot load it.
    static topology discover();
    /// A made-up machine in hwloc's synthetic syntax, e.g. "package:2 numa:1 core:4 pu:2" (for tests and for
    /// planning on a machine you do not have).
    static topology synthetic(std::string_view description);
    /// Assembled from parts, for tests of the planner (offline and disallowed CPUs).
    static topology from_parts(std::vector<processing_unit> pus, cpuset existing, cpuset online, cpuset allowed,
                               std::vector<cache_level> caches = {});

    [[nodiscard]] const std::vector<processing_unit>& pus() const noexcept { return _pus; }
    [[nodiscard]] unsigned cores() const noexcept { return _cores; }
    [[nodiscard]] unsigned packages() const noexcept { return _packages; }
    [[nodiscard]] unsigned numa_nodes() const noexcept { return _numa_nodes; }
    [[nodiscard]] const std::vector<cache_level>& caches() const noexcept { return _caches; }
    /// CPUs the kernel knows of, online or not.
    [[nodiscard]] const cpuset& existing() const noexcept { return _existing; }
    [[nodiscard]] const cpuset& online() const noexcept { return _online; }
    /// Online CPUs this process may run on (cgroup cpuset, affinity mask).
    [[nodiscard]] const cpuset& allowed() const noexcept { return _allowed; }
    [[nodiscard]] const processing_unit* find(unsigned cpu) const noexcept;

    /// One line: packages, cores, PUs, NUMA nodes, caches.
    [[nodiscard]] std::string describe() const;

private:
    std::vector<processing_unit> _pus;
    unsigned _cores = 0;
    unsigned _packages = 0;
    unsigned _numa_nodes = 0;
    std::vector<cache_level> _caches;
    cpuset _existing;
    cpuset _online;
    cpuset _allowed;
};

/// Pins the calling thread to `cpu` and, when `numa_node` is given, binds its memory allocations to that node.
/// \return an empty string on success, else what failed (memory binding is unsupported on some kernels/VMs:
/// callers may treat that as a warning). \blocking (a few syscalls; call at thread start)
std::string bind_this_thread(unsigned cpu, const unsigned* numa_node);

} // namespace percore
