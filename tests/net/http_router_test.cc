// http::router: literal and parameter routes, the rest parameter, HEAD falling back to GET, 404 vs 405.
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include "net/http/request_parser.hh"
#include "net/http/router.hh"

using namespace percore;
using namespace percore::net::http;

namespace {

handler tagged(std::string tag) {
    return [tag](request&) -> task<response> { co_return response::text(200, tag); };
}

struct routed {
    request req;
    std::vector<header_field> fields;
    const handler* h = nullptr;
    int status = 0;
    std::string allow;
};

routed route(const router& r, std::string_view method_name, std::string_view path) {
    static std::string text; // the request's views point into it
    text = std::string(method_name) + " " + std::string(path) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    routed out;
    REQUIRE(parse_request_head(text, limits{}, out.req, out.fields).status == parse_status::complete);
    out.h = r.find(out.req, out.status, out.allow);
    return out;
}

router sample() {
    router r;
    r.add(method::get, "/", tagged("root"));
    r.add(method::get, "/users", tagged("list"));
    r.add(method::post, "/users", tagged("create"));
    r.add(method::get, "/users/{id}", tagged("show"));
    r.add(method::get, "/users/{id}/posts/{post}", tagged("post"));
    r.add(method::get, "/users/me", tagged("me"));
    r.add(method::get, "/static/{path...}", tagged("static"));
    r.add("PURGE", "/cache", tagged("purge"));
    return r;
}

} // namespace

TEST_SUITE("net/http_router") {

    TEST_CASE("literal routes match exactly, and win over parameters") {
        router r = sample();
        routed a = route(r, "GET", "/users/me");
        REQUIRE(a.h != nullptr);
        CHECK(a.req.param("id") == ""); // the literal route took it
        routed b = route(r, "GET", "/users/42");
        REQUIRE(b.h != nullptr);
        CHECK(b.req.param("id") == "42");
        CHECK(route(r, "GET", "/").h != nullptr);
        CHECK(route(r, "GET", "/users/").status == 404); // an empty segment is no parameter
        CHECK(route(r, "GET", "/users/1/2").status == 404);
        CHECK(route(r, "GET", "/Users").status == 404);
    }

    TEST_CASE("several parameters, and a rest parameter taking slashes") {
        router r = sample();
        routed p = route(r, "GET", "/users/7/posts/abc");
        REQUIRE(p.h != nullptr);
        CHECK(p.req.param("id") == "7");
        CHECK(p.req.param("post") == "abc");
        routed s = route(r, "GET", "/static/css/site.css");
        REQUIRE(s.h != nullptr);
        CHECK(s.req.param("path") == "css/site.css");
        routed e = route(r, "GET", "/static/");
        REQUIRE(e.h != nullptr);
        CHECK(e.req.param("path") == "");
    }

    TEST_CASE("HEAD uses the GET route; another method on a known path is 405 with Allow") {
        router r = sample();
        CHECK(route(r, "HEAD", "/users/3").h != nullptr);
        routed d = route(r, "DELETE", "/users");
        CHECK(d.h == nullptr);
        CHECK(d.status == 405);
        CHECK(d.allow == "GET, HEAD, POST");
        routed n = route(r, "GET", "/nothing");
        CHECK(n.status == 404);
    }

    TEST_CASE("methods outside the enum route by their name") {
        router r = sample();
        CHECK(route(r, "PURGE", "/cache").h != nullptr);
        routed other = route(r, "FLUSH", "/cache");
        CHECK(other.status == 405);
        CHECK(other.allow == "PURGE");
    }

    TEST_CASE("bad patterns are refused") {
        router r;
        CHECK_THROWS_AS(r.add(method::get, "users", tagged("x")), std::invalid_argument);
        CHECK_THROWS_AS(r.add(method::get, "/a/{rest...}/b", tagged("x")), std::invalid_argument);
        CHECK_THROWS_AS(r.add(method::get, "/a/{}", tagged("x")), std::invalid_argument);
        CHECK_THROWS_AS(r.add(method::get, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", tagged("x")), std::invalid_argument);
    }

} // TEST_SUITE
