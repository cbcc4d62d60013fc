#include <string>
#include <sys/un.h>

#include <doctest/doctest.h>

#include "net/socket_address.hh"

using percore::net::address_error;
using percore::net::socket_address;

namespace {

/// The message of the address_error `text` raises ("" if none was raised).
std::string parse_error(const std::string& text) {
    try {
        (void)socket_address::parse(text);
    } catch (const address_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_SUITE("net/address") {
    TEST_CASE("good IPv4, IPv6 and Unix addresses round-trip through to_string") {
        for (const char* text : {"127.0.0.1:7000", "0.0.0.0:0", "10.1.2.3:65535", "[::1]:80", "[::]:0",
                                 "[2001:db8::1]:443", "unix:/tmp/x.sock", "unix:@percore-name"}) {
            const std::string input = text;
            CAPTURE(input);
            CHECK(socket_address::parse(text).to_string() == text);
        }
    }

    TEST_CASE("an absolute path is a Unix address") {
        auto a = socket_address::parse("/run/app.sock");
        CHECK(a.is_unix());
        CHECK(a.to_string() == "unix:/run/app.sock");
        CHECK(a.port() == 0);
    }

    TEST_CASE("families, ports and equality are what the text says") {
        CHECK(socket_address::parse("127.0.0.1:7000").family() == AF_INET);
        CHECK(socket_address::parse("[::1]:7000").family() == AF_INET6);
        CHECK(socket_address::parse("[::1]:7000").port() == 7000);
        CHECK(socket_address::parse("localhost:80") == socket_address::parse("127.0.0.1:80"));
        CHECK(socket_address::from_host_port("::1", 9) == socket_address::parse("[::1]:9"));
        CHECK(socket_address::from_host_port("[::1]", 9) == socket_address::parse("[::1]:9"));
        CHECK(socket_address::parse("127.0.0.1:1").with_port(2).to_string() == "127.0.0.1:2");
        CHECK(socket_address::unix_path("@abc") == socket_address::parse("unix:@abc"));
        CHECK_FALSE(socket_address::unix_path("@abc") == socket_address::unix_path("/abc"));
    }

    TEST_CASE("bad addresses throw address_error quoting the input") {
        for (const char* text :
             {"127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:http", "[::1", "[::1]", "[::1]80", "::1:80",
              "example.com:80", ":80", "1.2.3:80", "1.2.3.4:-1", "[zz::1]:80"}) {
            const std::string input = text;
            CAPTURE(input);
            const std::string msg = parse_error(text);
            CHECK(msg.find("'" + std::string(text) + "'") != std::string::npos);
        }
    }

    TEST_CASE("an empty address is rejected") {
        CHECK_THROWS_AS((void)socket_address::parse(""), address_error);
        CHECK(parse_error("").find("empty") != std::string::npos);
        CHECK_THROWS_AS((void)socket_address::parse("unix:"), address_error);
        CHECK_THROWS_AS((void)socket_address::parse("unix:@"), address_error);
    }

    TEST_CASE("the messages say what is wrong") {
        CHECK(parse_error("127.0.0.1").find("missing ':PORT'") != std::string::npos);
        CHECK(parse_error("127.0.0.1:70000").find("out of range") != std::string::npos);
        CHECK(parse_error("[::1").find("']'") != std::string::npos);
        CHECK(parse_error("::1:80").find("[ADDRESS]:PORT") != std::string::npos);
        CHECK(parse_error("example.com:80").find("not resolved") != std::string::npos);
    }

    TEST_CASE("a Unix path longer than sun_path is rejected, one that fits is kept") {
        const std::size_t max = sizeof(sockaddr_un{}.sun_path) - 1;
        const std::string fits = "/" + std::string(max - 1, 'a');
        CHECK(socket_address::parse(fits).to_string() == "unix:" + fits);
        const std::string too_long = "/" + std::string(max, 'a');
        const std::string msg = parse_error(too_long);
        CHECK(msg.find("'" + too_long + "'") != std::string::npos);
        CHECK(msg.find("longer than") != std::string::npos);
        CHECK_THROWS_AS((void)socket_address::unix_path(too_long), address_error);
    }

    TEST_CASE("a kernel address copied in prints like the parsed one") {
        auto a = socket_address::parse("[::1]:8080");
        socket_address b(a.native(), a.length());
        CHECK(b == a);
        CHECK(b.to_string() == "[::1]:8080");
    }
}
