#include "shard/app.hh"

#include <cstdio>

#include "shard/engine.hh"
#include "shard/placement.hh"
#include "shard/topology.hh"

namespace percore {

app::app(std::string name, std::string description)
    : _name(std::move(name))
    , _cli(std::move(description), _name)
    , _options(_cli) {
}

int app::run(int argc, char** argv, std::function<task<int>()> main) {
    try {
        _cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = _cli.exit(e); // prints help (code 0) or the error
        return code == 0 ? 0 : 2;
    }
    try {
        _config = _options.resolve();
        const topology machine = topology::discover();
        const auto plan = plan_shards(machine, _config.placement);
        if (_options.print_topology()) {
            std::fputs(describe_plan(machine, plan).c_str(), stdout);
            return 0;
        }
        if (_config.metrics_port != 0) {
            if (!_metrics_service) {
                throw config_error("--metrics-port: " + _name + " does not serve metrics");
            }
            return run_engine(_config, machine, plan,
                              [this, main = std::move(main)] { return _metrics_service(_config, main); });
        }
        return run_engine(_config, machine, plan, std::move(main));
    } catch (const config_error& e) {
        std::fprintf(stderr, "%s: %s\n", _name.c_str(), e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot start: %s\n", _name.c_str(), e.what());
        return 1;
    }
}

} // namespace percore
