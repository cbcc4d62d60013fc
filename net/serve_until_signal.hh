/// \file
/// \brief `serve_until_signal`: a server app's whole life: start, say where it listens, wait for SIGTERM or
/// SIGINT, stop (no new connections, open ones drained), and print what it served.
///
/// \code
/// net::server srv(options, factory);   // or an http::server
/// co_await net::serve_until_signal(srv, "percore-echo", fmt::format("{} shards", shard_count()),
///                                  "draining open ones");
/// // stderr: "percore-echo: listening on 127.0.0.1:7000 (2 shards)" ... on SIGTERM:
/// //         "percore-echo: stopping: no new connections, draining open ones"
/// //         "percore-echo: 12 connections served, 0 rejected over --max-connections, 0 ended by an error"
/// \endcode
///
/// \shard_local on the shard that made the server (the app's main task).
#pragma once

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "net/server.hh"
#include "runtime/run.hh"
#include "runtime/sync/event.hh"
#include "runtime/task.hh"

namespace percore::net {

/// `Server` is net::server or http::server (start, local_address, stats, stop). `details` goes in the banner's
/// parentheses; `draining` says what stopping does to the open connections. \return the counters at the stop
template <typename Server>
task<server_stats> serve_until_signal(Server& srv, std::string app, std::string details, std::string draining) {
    // Shared with the handlers, which stay installed after this returns (a late second signal must find it).
    auto stop = std::make_shared<event>();
    handle_signal(SIGTERM, [stop] { stop->set(); });
    handle_signal(SIGINT, [stop] { stop->set(); });
    co_await srv.start();
    std::fprintf(stderr, "%s: listening on %s (%s)\n", app.c_str(), srv.local_address().to_string().c_str(),
                 details.c_str());
    co_await stop->wait();
    std::fprintf(stderr, "%s: stopping: no new connections, %s\n", app.c_str(), draining.c_str());
    const server_stats s = co_await srv.stats();
    co_await srv.stop();
    std::fprintf(stderr, "%s: %llu connections served, %llu rejected over --max-connections, %llu ended by an error\n",
                 app.c_str(), static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.rejected),
                 static_cast<unsigned long long>(s.failed));
    co_return s;
}

} // namespace percore::net
