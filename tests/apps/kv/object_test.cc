// object: a 16-byte value; strings move between the inline and the heap form as they change.
#include <string>

#include <doctest/doctest.h>

#include "apps/kv/object.hh"

using percore::kv::object;
using percore::kv::value_type;

TEST_SUITE("apps/kv/object") {
    TEST_CASE("a string of up to 15 bytes is held inline, a longer one on the heap") {
        object small("abc");
        CHECK(small.type() == value_type::string);
        CHECK(small.str() == "abc");
        CHECK(small.memory() == 0);
        object fifteen(std::string(15, 'x'));
        CHECK(fifteen.str() == std::string(15, 'x'));
        CHECK(fifteen.memory() == 0);
        object sixteen(std::string(16, 'y'));
        CHECK(sixteen.str() == std::string(16, 'y'));
        CHECK(sixteen.memory() >= 16);
        object empty;
        CHECK(empty.type() == value_type::string);
        CHECK(empty.str().empty());
    }

    TEST_CASE("append grows a string across the inline limit and keeps its bytes") {
        object o("0123456789");
        o.append("abcde");
        CHECK(o.str() == "0123456789abcde");
        CHECK(o.memory() == 0);
        o.append("F");
        CHECK(o.str() == "0123456789abcdeF");
        std::string want = "0123456789abcdeF";
        for (int i = 0; i < 200; ++i) {
            o.append("xyz");
            want += "xyz";
        }
        CHECK(o.str() == want);
        CHECK(o.memory() >= want.size());
    }

    TEST_CASE("set_range pads with zero bytes and overwrites in place") {
        object o;
        o.set_range(3, "ab");
        CHECK(o.str() == std::string("\0\0\0ab", 5));
        o.set_range(0, "X");
        CHECK(o.str() == std::string("X\0\0ab", 5));
        o.set_range(20, "tail");
        CHECK(o.str().size() == 24);
        CHECK(o.str().substr(20) == "tail");
        CHECK(o.str().substr(0, 5) == std::string("X\0\0ab", 5));
    }

    TEST_CASE("assign replaces the bytes in either form") {
        object o("short");
        o.assign(std::string(40, 'L'));
        CHECK(o.str() == std::string(40, 'L'));
        o.assign(std::string(30, 'M')); // fits the heap buffer
        CHECK(o.str() == std::string(30, 'M'));
        o.assign("tiny");
        CHECK(o.str() == "tiny");
        CHECK(o.memory() == 0);
        o.assign(o.str()); // from its own bytes
        CHECK(o.str() == "tiny");
    }

    TEST_CASE("moves leave an empty string behind; clones are deep") {
        object a(std::string(100, 'q'));
        object b = std::move(a);
        CHECK(b.str() == std::string(100, 'q'));
        CHECK(a.type() == value_type::string); // NOLINT(bugprone-use-after-move): the documented moved-from state
        CHECK(a.str().empty());
        object c = b.clone();
        c.append("!");
        CHECK(b.str() == std::string(100, 'q'));
        CHECK(c.str().size() == 101);
    }

    TEST_CASE("aggregates keep their type and containers") {
        object l = object::make(value_type::list);
        CHECK(l.type() == value_type::list);
        CHECK(l.empty_aggregate());
        l.list().push_back("x");
        CHECK_FALSE(l.empty_aggregate());
        object copy = l.clone();
        copy.list().push_back("y");
        CHECK(l.list().size() == 1);
        CHECK(copy.list().size() == 2);
        object s = object::make(value_type::set);
        CHECK(s.type() == value_type::set);
        CHECK(s.set().add("m"));
        object h = object::make(value_type::hash);
        CHECK(h.type() == value_type::hash);
        object z = object::make(value_type::zset);
        CHECK(z.type() == value_type::zset);
        CHECK(z.zset().set("a", 1.0));
        CHECK(z.memory() > object::make(value_type::zset).memory());
    }
}
