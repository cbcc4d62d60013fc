#include <string>

#include <doctest/doctest.h>

#include "shard/cpuset.hh"

using percore::config_error;
using percore::cpuset;

namespace {
std::string error_of(const char* text) {
    try {
        (void)cpuset::parse(text);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}
} // namespace

TEST_SUITE("shard/cpuset") {
    TEST_CASE("ranges and single CPUs parse and print canonically") {
        CHECK(cpuset::parse("0-3,6").cpus() == std::set<unsigned>{0, 1, 2, 3, 6});
        CHECK(cpuset::parse(" 5 , 1-2 ,2").to_string() == "1-2,5");
        CHECK(cpuset::parse("7").to_string() == "7");
        CHECK(cpuset::parse("0-1,2-3,8-9,11").to_string() == "0-3,8-9,11");
    }

    TEST_CASE("malformed lists are refused naming the bad item") {
        CHECK(error_of("").find("empty item") != std::string::npos);
        CHECK(error_of("1,,2").find("empty item") != std::string::npos);
        CHECK(error_of("0-x").find("'x' is not a CPU number") != std::string::npos);
        CHECK(error_of("3-1").find("'3-1'") != std::string::npos);
        CHECK(error_of("3-1").find("range ends before it starts") != std::string::npos);
        CHECK(error_of("-2").find("'-2'") != std::string::npos);
        CHECK(error_of("99999").find("99999") != std::string::npos);
        CHECK(error_of("1;2").find("1;2") != std::string::npos);
    }
}
