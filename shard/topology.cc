#include "shard/topology.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>
#include <hwloc.h>

namespace percore {

namespace {

/// Owns an hwloc topology handle.
class hwloc_handle {
public:
    hwloc_handle() {
        if (hwloc_topology_init(&_t) != 0) {
            throw std::runtime_error("hwloc_topology_init failed");
        }
    }
    hwloc_handle(const hwloc_handle&) = delete;
    hwloc_handle& operator=(const hwloc_handle&) = delete;
    ~hwloc_handle() { hwloc_topology_destroy(_t); }
    void load() {
        if (hwloc_topology_load(_t) != 0) {
            throw std::runtime_error(std::string("hwloc could not load the machine topology: ") + std::strerror(errno));
        }
    }
    hwloc_topology_t get() const noexcept { return _t; }

private:
    hwloc_topology_t _t = nullptr;
};

cpuset to_cpuset(hwloc_const_bitmap_t bitmap) {
    std::set<unsigned> cpus;
    if (bitmap != nullptr && !hwloc_bitmap_isfull(bitmap)) {
        for (int i = hwloc_bitmap_first(bitmap); i >= 0; i = hwloc_bitmap_next(bitmap, i)) {
            cpus.insert(static_cast<unsigned>(i));
        }
    }
    return cpuset(std::move(cpus));
}

std::string size_text(std::uint64_t bytes) {
    if (bytes >= (std::uint64_t{1} << 20) && bytes % (std::uint64_t{1} << 20) == 0) {
        return fmt::format("{} MiB", bytes >> 20);
    }
    return fmt::format("{} KiB", bytes >> 10);
}

topology read(const hwloc_handle& h) {
    hwloc_topology_t t = h.get();
    std::vector<processing_unit> pus;
    const int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    const int numa_count = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    std::map<unsigned, cache_level> caches;
    for (int i = 0; i < n; ++i) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i));
        hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
        hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, pu);
        // In hwloc 2 NUMA nodes hang off the tree as memory children: match them by cpuset.
        unsigned numa = 0;
        for (int k = 0; k < numa_count; ++k) {
            hwloc_obj_t node = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(k));
            if (node->cpuset != nullptr && hwloc_bitmap_isset(node->cpuset, pu->os_index)) {
                numa = node->os_index;
                break;
            }
        }
        pus.push_back({pu->os_index, core != nullptr ? core->logical_index : pu->logical_index,
                       package != nullptr ? package->logical_index : 0, numa});
        for (hwloc_obj_t c = pu->parent; c != nullptr; c = c->parent) {
            if (hwloc_obj_type_is_dcache(c->type) || c->type == HWLOC_OBJ_L3CACHE) {
                caches.emplace(c->attr->cache.depth,
                               cache_level{c->attr->cache.depth, c->attr->cache.size,
                                           static_cast<unsigned>(hwloc_bitmap_weight(c->cpuset))});
            }
        }
    }
    std::sort(pus.begin(), pus.end(), [](const auto& a, const auto& b) { return a.cpu < b.cpu; });
    std::vector<cache_level> cache_list;
    for (auto& [level, info] : caches) {
        cache_list.push_back(info);
    }
    cpuset existing = to_cpuset(hwloc_topology_get_complete_cpuset(t));
    cpuset online = to_cpuset(hwloc_topology_get_topology_cpuset(t));
    cpuset allowed = to_cpuset(hwloc_topology_get_allowed_cpuset(t));
    std::set<unsigned> allowed_online;
    for (unsigned c : allowed.cpus()) {
        if (online.contains(c)) {
            allowed_online.insert(c);
        }
    }
    return topology::from_parts(std::move(pus), std::move(existing), std::move(online),
                                cpuset(std::move(allowed_online)), std::move(cache_list));
}

} // namespace

topology topology::discover() {
    hwloc_handle h;
    h.load();
    topology t = read(h);
    return t;
}

topology topology::synthetic(std::string_view description) {
    hwloc_handle h;
    if (hwloc_topology_set_synthetic(h.get(), std::string(description).c_str()) != 0) {
        throw std::runtime_error("invalid synthetic topology '" + std::string(description) + "'");
    }
    h.load();
    return read(h);
}

topology topology::from_parts(std::vector<processing_unit> pus, cpuset existing, cpuset online, cpuset allowed,
                              std::vector<cache_level> caches) {
    topology t;
    std::set<unsigned> cores;
    std::set<unsigned> packages;
    std::set<unsigned> nodes;
    for (const auto& pu : pus) {
        cores.insert(pu.core);
        packages.insert(pu.package);
        nodes.insert(pu.numa_node);
    }
    t._pus = std::move(pus);
    t._cores = static_cast<unsigned>(cores.size());
    t._packages = static_cast<unsigned>(packages.size());
    t._numa_nodes = static_cast<unsigned>(nodes.size());
    t._existing = std::move(existing);
    t._online = std::move(online);
    t._allowed = std::move(allowed);
    t._caches = std::move(caches);
    return t;
}

const processing_unit* topology::find(unsigned cpu) const noexcept {
    for (const auto& pu : _pus) {
        if (pu.cpu == cpu) {
            return &pu;
        }
    }
    return nullptr;
}

std::string topology::describe() const {
    auto plural = [](unsigned n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };
    std::string out = fmt::format("{}, {}, {}, {}", plural(_packages, "package"), plural(_cores, "core"),
                                  plural(static_cast<unsigned>(_pus.size()), "PU"), plural(_numa_nodes, "NUMA node"));
    for (const auto& c : _caches) {
        out += fmt::format("; L{} {} (shared by {})", c.level, size_text(c.size_bytes), plural(c.shared_by_pus, "PU"));
    }
    if (_online.size() != _existing.size()) {
        out += fmt::format("; online CPUs {} of {}", _online.to_string(), _existing.to_string());
    }
    if (_allowed.size() != _online.size()) {
        out += fmt::format("; allowed to this process: {}", _allowed.to_string());
    }
    return out;
}

std::string bind_this_thread(unsigned cpu, const unsigned* numa_node) {
    hwloc_handle h;
    h.load();
    hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
    hwloc_bitmap_only(cpus, cpu);
    std::string problem;
    if (hwloc_set_cpubind(h.get(), cpus, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT) != 0 &&
        hwloc_set_cpubind(h.get(), cpus, HWLOC_CPUBIND_THREAD) != 0) {
        problem = fmt::format("cannot pin the thread to CPU {}: {}", cpu, std::strerror(errno));
    }
    hwloc_bitmap_free(cpus);
    if (problem.empty() && numa_node != nullptr) {
        hwloc_bitmap_t nodes = hwloc_bitmap_alloc();
        hwloc_bitmap_only(nodes, *numa_node);
        if (hwloc_set_membind(h.get(), nodes, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET) !=
            0) {
            problem = fmt::format("cannot bind memory to NUMA node {}: {}", *numa_node, std::strerror(errno));
        }
        hwloc_bitmap_free(nodes);
    }
    return problem;
}

} // namespace percore
