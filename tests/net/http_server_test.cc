// http::server against a raw client on loopback: keep-alive, pipelining, every limit's status code, timeouts,
// chunked bodies, 100-continue, HEAD, HTTP/1.0, streaming, stop().
#include <chrono>
#include <stdexcept>
#include <string>

#include "net/connection.hh"
#include "net/http/server.hh"
#include "runtime/timer.hh"
#include "tests/net/http_client.hh"
#include "tests/net/net_test.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t stream_size = 4 * 1024 * 1024;

task<http::response> stream_body(bool known_length) {
    auto fn = [](http::body_writer& w) -> task<> {
        std::string slice(64 * 1024, '\0');
        for (std::size_t sent = 0; sent < stream_size; sent += slice.size()) {
            for (std::size_t i = 0; i < slice.size(); ++i) {
                slice[i] = static_cast<char>('a' + (sent + i) % 26);
            }
            co_await w.write(std::string_view(slice));
        }
    };
    co_return http::response::stream(200, "application/octet-stream", fn,
                                     known_length ? std::optional<std::uint64_t>(stream_size) : std::nullopt);
}

http::router test_routes() {
    http::router r;
    r.add(http::method::get, "/hello",
          [](http::request&) -> task<http::response> { co_return http::response::text(200, "Hello, World!\n"); });
    r.add(http::method::get, "/echo/{n}", [](http::request& req) -> task<http::response> {
        co_return http::response::text(200, std::string(req.param("n")));
    });
    r.add(http::method::get, "/slow/{n}", [](http::request& req) -> task<http::response> {
        std::string n(req.param("n"));
        co_await sleep_for(std::chrono::milliseconds(std::atoi(n.c_str())));
        co_return http::response::text(200, n);
    });
    r.add(http::method::post, "/body", [](http::request& req) -> task<http::response> {
        co_return http::response::text(200, std::string(req.body()));
    });
    r.add(http::method::get, "/throw", [](http::request&) -> task<http::response> {
        throw std::runtime_error("handler bug");
        co_return http::response(200);
    });
    r.add(http::method::get, "/stream/length", [](http::request&) { return stream_body(true); });
    r.add(http::method::get, "/stream/chunked", [](http::request&) { return stream_body(false); });
    r.add(http::method::get, "/files/{path...}", [](http::request& req) -> task<http::response> {
        co_return http::response::text(200, "file:" + std::string(req.param("path")));
    });
    return r;
}

http::server_options test_options() {
    http::server_options o;
    o.limits.max_request_line = 256;
    o.limits.max_header_bytes = 512;
    o.limits.max_headers = 8;
    o.limits.max_body_size = 1024;
    o.limits.linger_timeout = 200ms;
    o.net.drain_timeout = 2000ms;
    return o;
}

/// The streamed body, built before main (building it in a test's task would hold the reactor for tens of ms).
const std::string g_expected_stream = [] {
    std::string bytes(stream_size, '\0');
    for (std::size_t i = 0; i < stream_size; ++i) {
        bytes[i] = static_cast<char>('a' + i % 26);
    }
    return bytes;
}();

const std::string& expected_stream() {
    return g_expected_stream;
}

/// Sends `request` on a fresh connection; \return the reply, with `closed` telling whether the server then
/// closed the connection.
task<http_reply> one_shot(http::server& srv, std::string request) {
    connection c = co_await connect(srv.local_address());
    co_await send_raw(c, std::move(request));
    http_reader reader(c);
    http_reply r = co_await reader.next();
    r.closed = r.closed || co_await reader.at_eof();
    co_return r;
}

} // namespace

TEST_SUITE("net/http_server") {

    RUNTIME_TEST_CASE("a GET is answered with status, Date, Server, Content-Type and Content-Length") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        co_await send_raw(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        http_reader reader(c);
        http_reply r = co_await reader.next();
        CHECK(r.status == 200);
        CHECK(r.body == "Hello, World!\n");
        CHECK(r.header("content-length") == "14");
        CHECK(r.header("content-type") == "text/plain; charset=utf-8");
        CHECK(r.header("server") == "percore");
        const std::string date = r.header("date");
        CHECK(date.size() == 29);
        CHECK(date.substr(25) == " GMT");
        CHECK(r.header("connection") == "");
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("keep-alive: many requests one after another on one connection") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        for (int i = 0; i < 50; ++i) {
            co_await send_raw(c, "GET /echo/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n");
            http_reply r = co_await reader.next();
            REQUIRE(r.status == 200);
            CHECK(r.body == std::to_string(i));
        }
        const net::server_stats s = co_await srv.stats();
        CHECK(s.accepted == 1);
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("pipelined requests are answered in order, slow handlers included") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        std::string batch;
        for (int i = 0; i < 100; ++i) {
            batch += i % 10 == 3 ? "GET /slow/" + std::to_string(i % 7) + " HTTP/1.1\r\nHost: t\r\n\r\n"
                                 : "GET /echo/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
        }
        batch += "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
        batch += "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        batch += "GET /echo/last HTTP/1.1\r\nHost: t\r\n\r\n";
        // Sent in awkward pieces, so that heads and bodies span receives.
        for (std::size_t pos = 0; pos < batch.size(); pos += 777) {
            co_await send_raw(c, batch.substr(pos, 777));
        }
        http_reader reader(c);
        for (int i = 0; i < 100; ++i) {
            http_reply r = co_await reader.next();
            REQUIRE(r.status == 200);
            CHECK(r.body == (i % 10 == 3 ? std::to_string(i % 7) : std::to_string(i)));
        }
        CHECK((co_await reader.next()).body == "hello");
        CHECK((co_await reader.next()).body == "abc");
        CHECK((co_await reader.next()).body == "last");
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("every limit answers its status code, then closes") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        SUBCASE("414 for a long request line") {
            http_reply r = co_await one_shot(srv, "GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n");
            CHECK(r.status == 414);
            CHECK(r.body == "414 URI Too Long\n");
            CHECK(r.header("connection") == "close");
            CHECK(r.closed);
        }
        SUBCASE("414 before the line ends") {
            http_reply r = co_await one_shot(srv, "GET /" + std::string(300, 'a'));
            CHECK(r.status == 414);
            CHECK(r.closed);
        }
        SUBCASE("431 for a large header block") {
            http_reply r =
                co_await one_shot(srv, "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(600, 'v') + "\r\n\r\n");
            CHECK(r.status == 431);
            CHECK(r.closed);
        }
        SUBCASE("431 for too many header fields") {
            std::string req = "GET / HTTP/1.1\r\nHost: t\r\n";
            for (int i = 0; i < 9; ++i) {
                req += "X" + std::to_string(i) + ": v\r\n";
            }
            http_reply r = co_await one_shot(srv, req + "\r\n");
            CHECK(r.status == 431);
            CHECK(r.closed);
        }
        SUBCASE("413 for a Content-Length over max_body_size") {
            http_reply r = co_await one_shot(srv, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n");
            CHECK(r.status == 413);
            CHECK(r.closed);
        }
        SUBCASE("413 for chunks adding up past max_body_size") {
            std::string req = "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (int i = 0; i < 3; ++i) {
                req += "200\r\n" + std::string(512, 'x') + "\r\n";
            }
            http_reply r = co_await one_shot(srv, req);
            CHECK(r.status == 413);
            CHECK(r.closed);
        }
        SUBCASE("400 for a malformed request") {
            http_reply r = co_await one_shot(srv, "GET / HTTP/1.1\r\nHost : t\r\n\r\n");
            CHECK(r.status == 400);
            CHECK(r.closed);
        }
        SUBCASE("400 for a missing Host") {
            http_reply r = co_await one_shot(srv, "GET /hello HTTP/1.1\r\n\r\n");
            CHECK(r.status == 400);
            CHECK(r.closed);
        }
        SUBCASE("400 for both Content-Length and Transfer-Encoding") {
            http_reply r = co_await one_shot(
                srv, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc");
            CHECK(r.status == 400);
            CHECK(r.closed);
        }
        SUBCASE("501 for a transfer coding other than chunked") {
            http_reply r =
                co_await one_shot(srv, "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
            CHECK(r.status == 501);
            CHECK(r.closed);
        }
        SUBCASE("505 for HTTP/2.0") {
            http_reply r = co_await one_shot(srv, "GET / HTTP/2.0\r\n\r\n");
            CHECK(r.status == 505);
            CHECK(r.closed);
        }
        SUBCASE("417 for an unknown expectation") {
            http_reply r = co_await one_shot(srv, "POST /body HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n\r\n");
            CHECK(r.status == 417);
            CHECK(r.closed);
        }
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("responses before an error in a pipeline are all delivered") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        co_await send_raw(c, "GET /echo/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/2 HTTP/1.1\r\nHost: t\r\n\r\n"
                             "BAD REQUEST\r\n\r\nGET /echo/3 HTTP/1.1\r\nHost: t\r\n\r\n");
        http_reader reader(c);
        CHECK((co_await reader.next()).body == "1");
        CHECK((co_await reader.next()).body == "2");
        http_reply bad = co_await reader.next();
        CHECK(bad.status == 400);
        CHECK(bad.closed);
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("slowloris: a head trickling in is cut at header_timeout with 408") {
        http::server_options o = test_options();
        o.limits.header_timeout = 300ms;
        o.limits.idle_timeout = 10s;
        http::server srv(o, test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        const std::string head = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ";
        co_await send_raw(c, head);
        http_reader reader(c);
        // A byte every 50 ms keeps every single read short of any per-read timeout; only the deadline ends it.
        auto trickle = [](connection& conn) -> task<> {
            try {
                for (int i = 0; i < 200; ++i) {
                    co_await sleep_for(50ms);
                    co_await send_raw(conn, "x");
                }
            } catch (const std::system_error&) {
                // the server closed
            }
        };
        auto writer = spawn(trickle(c));
        http_reply r = co_await reader.next();
        CHECK(r.status == 408);
        CHECK(r.closed);
        co_await writer; // its writes fail once the server closed
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("an idle kept-alive connection is closed after idle_timeout, silently") {
        http::server_options o = test_options();
        o.limits.idle_timeout = 200ms;
        http::server srv(o, test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        co_await send_raw(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK((co_await reader.next()).status == 200);
        CHECK(co_await reader.at_eof()); // nothing more: the server closed without a response
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("a body sent after the head, in pieces, is read in full") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        co_await send_raw(c, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
        const std::string body = random_bytes(1000, 7);
        for (std::size_t pos = 0; pos < body.size(); pos += 300) {
            co_await sleep_for(5ms);
            co_await send_raw(c, body.substr(pos, 300));
        }
        http_reply r = co_await reader.next();
        CHECK(r.status == 200);
        CHECK(r.body == body);
        SUBCASE("and chunked") {
            std::string chunked = "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (std::size_t pos = 0; pos < body.size(); pos += 250) {
                chunked += "fa\r\n" + body.substr(pos, 250) + "\r\n";
            }
            chunked += "0\r\nX-Trailer: yes\r\n\r\n";
            for (std::size_t pos = 0; pos < chunked.size(); pos += 97) {
                co_await send_raw(c, chunked.substr(pos, 97));
            }
            http_reply rc = co_await reader.next();
            CHECK(rc.status == 200);
            CHECK(rc.body == body);
        }
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        co_await send_raw(c, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        http_reply interim = co_await reader.next();
        CHECK(interim.status == 100);
        co_await send_raw(c, "data");
        http_reply r = co_await reader.next();
        CHECK(r.status == 200);
        CHECK(r.body == "data");
        SUBCASE("and a body over the limit gets 413 without 100") {
            co_await send_raw(c,
                              "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
            http_reply big = co_await reader.next();
            CHECK(big.status == 413);
            CHECK(big.closed);
        }
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("HEAD gets the GET route's headers and no body") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        co_await send_raw(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nHEAD /stream/chunked HTTP/1.1\r\nHost: t\r\n\r\n"
                             "GET /echo/after HTTP/1.1\r\nHost: t\r\n\r\n");
        http_reply h = co_await reader.next(true);
        CHECK(h.status == 200);
        CHECK(h.header("content-length") == "14");
        http_reply hs = co_await reader.next(true);
        CHECK(hs.status == 200);
        CHECK(hs.header("transfer-encoding") == "chunked");
        http_reply after = co_await reader.next(); // would be garbage had a body followed either HEAD
        CHECK(after.status == 200);
        CHECK(after.body == "after");
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("unknown paths are 404, known paths with another method 405 with Allow; a throwing handler 500") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        co_await send_raw(c, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\nDELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                             "GET /throw HTTP/1.1\r\nHost: t\r\n\r\nGET /files/a/b/c.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK((co_await reader.next()).status == 404);
        http_reply r405 = co_await reader.next();
        CHECK(r405.status == 405);
        CHECK(r405.header("allow") == "GET, HEAD");
        CHECK((co_await reader.next()).status == 500);
        CHECK((co_await reader.next()).body == "file:a/b/c.txt"); // the connection survived all three
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("HTTP/1.0 closes after the response unless it asked for keep-alive; Connection: close closes") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        SUBCASE("1.0") {
            http_reply r = co_await one_shot(srv, "GET /hello HTTP/1.0\r\n\r\n");
            CHECK(r.status == 200);
            CHECK(r.body == "Hello, World!\n");
            CHECK(r.closed);
        }
        SUBCASE("1.0 keep-alive") {
            connection c = co_await connect(srv.local_address());
            http_reader reader(c);
            co_await send_raw(c, "GET /echo/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            http_reply r = co_await reader.next();
            CHECK(r.header("connection") == "keep-alive");
            co_await send_raw(c, "GET /echo/2 HTTP/1.0\r\n\r\n");
            http_reply r2 = co_await reader.next();
            CHECK(r2.body == "2");
            CHECK(co_await reader.at_eof());
        }
        SUBCASE("1.0 streamed body ends with the connection") {
            http_reply r = co_await one_shot(srv, "GET /stream/chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            CHECK(r.status == 200);
            CHECK(r.header("transfer-encoding") == "");
            CHECK(r.body == expected_stream());
            CHECK(r.closed);
        }
        SUBCASE("Connection: close") {
            http_reply r = co_await one_shot(srv, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            CHECK(r.status == 200);
            CHECK(r.header("connection") == "close");
            CHECK(r.closed);
        }
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("large bodies stream with a known length or in chunks, and the connection stays usable") {
        http::server srv(test_options(), test_routes);
        co_await srv.start();
        connection c = co_await connect(srv.local_address());
        http_reader reader(c);
        co_await send_raw(
            c, "GET /stream/length HTTP/1.1\r\nHost: t\r\n\r\nGET /stream/chunked HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /echo/end HTTP/1.1\r\nHost: t\r\n\r\n");
        const std::string& want = expected_stream();
        http_reply a = co_await reader.next();
        CHECK(a.header("content-length") == std::to_string(stream_size));
        CHECK(a.body == want);
        http_reply b = co_await reader.next();
        CHECK(b.header("transfer-encoding") == "chunked");
        CHECK(b.body == want);
        CHECK((co_await reader.next()).body == "end");
        c.close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("stop() closes idle kept-alive connections at once and lets a request in progress finish") {
        http::server_options o = test_options();
        o.net.drain_timeout = 30s; // a stop that waited for the idle ones would hang the test
        o.limits.idle_timeout = 60s;
        http::server srv(o, test_routes);
        co_await srv.start();
        connection idle = co_await connect(srv.local_address());
        http_reader idle_reader(idle);
        co_await send_raw(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK((co_await idle_reader.next()).status == 200);
        connection busy = co_await connect(srv.local_address());
        http_reader busy_reader(busy);
        co_await send_raw(busy, "GET /slow/300 HTTP/1.1\r\nHost: t\r\n\r\n");
        co_await sleep_for(50ms); // the slow request is in its handler
        auto stopping = spawn(srv.stop());
        CHECK(co_await idle_reader.at_eof());
        http_reply r = co_await busy_reader.next();
        CHECK(r.status == 200);
        CHECK(r.header("connection") == "close");
        co_await stopping;
    }

} // TEST_SUITE
