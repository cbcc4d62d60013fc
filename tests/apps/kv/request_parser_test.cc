// resp::request_parser: Redis's error texts and limits, every split of a byte stream, pipelining, inline
// quoting, zero-copy slicing and copy-once gathering.
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <ostream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "apps/kv/resp/request_parser.hh"

using namespace percore;
using kv::resp::parse_limits;
using kv::resp::parse_status;
using kv::resp::request_parser;

// Allocation accounting for this executable: large allocations are counted (a value copied twice allocates
// twice), and freed memory is scribbled over, so that a view into a freed buffer reads garbage in every build,
// not only under ASan.
// ThreadSanitizer's runtime defines the global operator new itself: there, allocations are not counted.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PERCORE_NO_NEW_OVERRIDE 1
#endif
#endif

namespace {
[[maybe_unused]] constexpr std::size_t large_alloc = 1 << 20;
std::size_t large_allocs = 0;
#ifdef PERCORE_NO_NEW_OVERRIDE
constexpr bool counting_allocations = false;
#else
constexpr bool counting_allocations = true;
#endif
} // namespace

#ifndef PERCORE_NO_NEW_OVERRIDE
void* operator new(std::size_t n) {
    if (n >= large_alloc) {
        ++large_allocs;
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    if (p != nullptr) {
        std::memset(p, 0xdd, malloc_usable_size(p));
        std::free(p);
    }
}
void operator delete(void* p, std::size_t) noexcept {
    operator delete(p);
}
#endif

namespace {

using command = std::vector<std::string>;

struct outcome {
    std::vector<command> commands;
    std::string error; // empty: no error
    bool silent = false;
    bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    for (const command& c : o.commands) {
        os << '[';
        for (const std::string& a : c) {
            os << '"' << a << "\" ";
        }
        os << "] ";
    }
    return os << "error=\"" << o.error << '"' << (o.silent ? " (silent)" : "");
}

/// Feeds `chunks` one after another as the session does: parse every complete command, copy it out, release,
/// feed the next.
outcome run(request_parser& p, const std::vector<std::string>& chunks) {
    outcome o;
    std::vector<std::string_view> argv;
    for (const std::string& c : chunks) {
        p.feed(net::buffer::copy_of(c));
        parse_status s;
        while ((s = p.next(argv)) == parse_status::command) {
            o.commands.emplace_back(argv.begin(), argv.end());
        }
        if (s == parse_status::error) {
            o.error = p.error();
            o.silent = p.close_silently();
            return o;
        }
        p.release_consumed();
    }
    return o;
}

outcome run(const std::vector<std::string>& chunks, parse_limits limits = {}) {
    request_parser p(limits);
    return run(p, chunks);
}

outcome whole(std::string_view s, parse_limits limits = {}) {
    return run({std::string(s)}, limits);
}

/// `s` cut at the given offsets (ascending).
std::vector<std::string> cut(std::string_view s, const std::vector<std::size_t>& at) {
    std::vector<std::string> out;
    std::size_t from = 0;
    for (std::size_t a : at) {
        out.emplace_back(s.substr(from, a - from));
        from = a;
    }
    out.emplace_back(s.substr(from));
    return out;
}

std::vector<std::string> bytes_of(std::string_view s) {
    std::vector<std::string> out;
    for (char c : s) {
        out.emplace_back(1, c);
    }
    return out;
}

std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string multibulk(const command& c) {
    std::string out = "*" + std::to_string(c.size()) + "\r\n";
    for (const std::string& a : c) {
        out += bulk(a);
    }
    return out;
}

bool within(std::string_view arg, const char* lo, std::size_t size) {
    return arg.data() >= lo && arg.data() + arg.size() <= lo + size;
}

// A stream of every kind of request, and what it parses to.
const std::string mixed_stream = multibulk({"SET", "key", "value"}) + "*0\r\n*-1\r\n\r\n  \t \r\n" + "PING\r\n" +
                                 "GET  \"a b\"  'c\\'d'\n" + "*1\r\n$0\r\n\r\n" +
                                 multibulk({"ECHO", std::string("line\r\nwith CRLF and \0 NUL", 25)}) +
                                 "SET k \"\\x41\\x4a\\n\"\r\n" + multibulk({"GET", "x"});
const std::vector<command> mixed_commands = {
    {"SET", "key", "value"},
    {"PING"},
    {"GET", "a b", "c'd"},
    {""},
    {"ECHO", std::string("line\r\nwith CRLF and \0 NUL", 25)},
    {"SET", "k", "AJ\n"},
    {"GET", "x"},
};

} // namespace

TEST_SUITE("apps/kv/request_parser") {

    TEST_CASE("a stream of every kind of request parses to its commands") {
        const outcome o = whole(mixed_stream);
        CHECK(o.error == "");
        CHECK(o.commands == mixed_commands);
    }

    TEST_CASE("splitting a stream at any byte boundary yields the same commands") {
        const outcome expected{mixed_commands, "", false};
        SUBCASE("in two") {
            for (std::size_t i = 1; i < mixed_stream.size(); ++i) {
                CAPTURE(i);
                CHECK(run(cut(mixed_stream, {i})) == expected);
            }
        }
        SUBCASE("in three") {
            for (std::size_t i = 1; i < mixed_stream.size(); ++i) {
                for (std::size_t j = i; j < mixed_stream.size(); ++j) {
                    const outcome o = run(cut(mixed_stream, {i, j}));
                    if (!(o == expected)) {
                        CAPTURE(i);
                        CAPTURE(j);
                        CHECK(o == expected);
                    }
                }
            }
        }
        SUBCASE("one byte at a time") {
            CHECK(run(bytes_of(mixed_stream)) == expected);
        }
    }

    TEST_CASE("a protocol error is found wherever the stream is split") {
        const std::vector<std::string> bad = {"*1\r\n$4\r\nPING\r\n*x\r\n", "PING\r\n*1\r\n:1\r\n", "*1\r\n$-1\r\n",
                                              "SET \"a\"b\r\n", "*12\r\n$3\r\nGET\r\n$99999999999\r\n"};
        for (const std::string& s : bad) {
            const outcome expected = whole(s);
            CAPTURE(s);
            CHECK(expected.error != "");
            for (std::size_t i = 1; i < s.size(); ++i) {
                CAPTURE(i);
                CHECK(run(cut(s, {i})) == expected);
            }
            CHECK(run(bytes_of(s)) == expected);
        }
    }

    TEST_CASE("malformed requests get Redis's error texts") {
        struct bad_case {
            std::string input;
            std::string error;
        };
        const std::string mbulk_len = "ERR Protocol error: invalid multibulk length";
        const std::string bulk_len = "ERR Protocol error: invalid bulk length";
        const std::string quotes = "ERR Protocol error: unbalanced quotes in request";
        const std::vector<bad_case> cases = {
            {"*x\r\n", mbulk_len},
            {"*\r\n", mbulk_len},
            {"*-\r\n", mbulk_len},
            {"*01\r\n", mbulk_len},
            {"*-0\r\n", mbulk_len},
            {"*+1\r\n", mbulk_len},
            {"* 1\r\n", mbulk_len},
            {"*1 \r\n", mbulk_len},
            {"*99999999999999999999\r\n", mbulk_len},
            {"*9223372036854775808\r\n", mbulk_len},
            {"*1048577\r\n", mbulk_len}, // past max_args
            {"*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'"},
            {"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"},
            {"*1\r\n\r\n", "ERR Protocol error: expected '$', got '\r'"},
            {"*1\r\n$x\r\n", bulk_len},
            {"*1\r\n$\r\n", bulk_len},
            {"*1\r\n$-1\r\n", bulk_len},
            {"*1\r\n$01\r\n", bulk_len},
            {"*1\r\n$ 1\r\n", bulk_len},
            {"*1\r\n$536870913\r\n", bulk_len}, // past proto-max-bulk-len
            // The fast path's edges (18 digits: its own; 19: the general path's) reach the same errors.
            {"*999999999999999999\r\n", mbulk_len},
            {"*1\r\n$999999999999999999\r\n", bulk_len},
            {"*1\r\n$1000000000000000000\r\n", bulk_len},
            // "k" and two bytes skipped ("k\r"): the next header starts at '\n'
            {"*3\r\n$3\r\nGET\r\n$1\r\nkk\r\n$1\r\n", "ERR Protocol error: expected '$', got '\n'"},
            {"\"abc\r\n", quotes},
            {"SET 'a\r\n", quotes},
            {"SET \"a\"b\r\n", quotes},
            {"SET 'a'b\r\n", quotes},
            {"ECHO \"a\\\"\r\n", quotes},
            {"ECHO \"a\\\r\n", quotes},
        };
        for (const bad_case& c : cases) {
            CAPTURE(c.input);
            const outcome o = whole(c.input);
            CHECK(o.error == c.error);
            CHECK(!o.silent);
        }
    }

    TEST_CASE("requests the fast path leaves to the general one parse the same") {
        using cmds = std::vector<std::vector<std::string>>;
        CHECK(whole("*2\r\n$3\r\nSET\r\n$0\r\n\r\n").commands == cmds{{"SET", ""}});               // "$0": general path
        CHECK(whole("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$2\r\nk").commands == cmds{{"PING"}}); // incomplete
        CHECK(whole("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$2\r\nk").error == "");
        const std::string twelve(12, 'k');
        CHECK(whole("*2\r\n$3\r\nGET\r\n$12\r\n" + twelve + "\r\n").commands == cmds{{"GET", twelve}});
    }

    TEST_CASE("a bulk's two bytes after the payload are skipped unchecked, as Redis does") {
        CHECK(whole("*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n").commands == std::vector<command>{{"PING"}, {"PING"}});
    }

    TEST_CASE("oversized lines are refused past 64 KiB, not before") {
        const std::string digits(65536, '1');
        CHECK(whole(std::string(65536, 'X')).error == "");
        CHECK(whole(std::string(65537, 'X')).error == "ERR Protocol error: too big inline request");
        CHECK(whole("*" + std::string(65535, '1')).error == "");
        CHECK(whole("*" + digits).error == "ERR Protocol error: too big mbulk count string");
        CHECK(whole("*1\r\n$" + std::string(65535, '1')).error == "");
        CHECK(whole("*1\r\n$" + digits).error == "ERR Protocol error: too big bulk count string");
        // The same arriving in small pieces.
        const std::string inline_line(70000, 'X');
        CHECK(run(cut(inline_line, {1000, 30000, 65536, 65537})).error == "ERR Protocol error: too big inline request");
    }

    TEST_CASE("the bulk and argument limits are configurable") {
        parse_limits l;
        l.max_bulk = 100;
        l.max_args = 3;
        CHECK(whole(multibulk({"SET", "k", std::string(100, 'v')}), l).commands.size() == 1);
        CHECK(whole(multibulk({"SET", "k", std::string(101, 'v')}), l).error ==
              "ERR Protocol error: invalid bulk length");
        CHECK(whole("*4\r\n", l).error == "ERR Protocol error: invalid multibulk length");
    }

    TEST_CASE("before authentication only short requests are accepted, as in Redis") {
        request_parser p;
        p.set_authenticated(false);
        SUBCASE("ten arguments of 16 KiB pass") {
            command c(10, std::string(16384, 'a'));
            const outcome o = run(p, {multibulk(c)});
            CHECK(o.error == "");
            CHECK(o.commands.size() == 1);
        }
        SUBCASE("eleven arguments do not") {
            CHECK(run(p, {"*11\r\n"}).error == "ERR Protocol error: unauthenticated multibulk length");
        }
        SUBCASE("an argument of 16 KiB + 1 does not") {
            CHECK(run(p, {"*1\r\n$16385\r\n"}).error == "ERR Protocol error: unauthenticated bulk length");
        }
        SUBCASE("inline commands are limited only by the line length") {
            CHECK(run(p, {"ECHO " + std::string(60000, 'x') + "\r\n"}).commands.size() == 1);
        }
        SUBCASE("after authentication the limits go") {
            p.set_authenticated(true);
            const outcome o = run(p, {multibulk(command(11, std::string(20000, 'a')))});
            CHECK(o.error == "");
            CHECK(o.commands.size() == 1);
        }
    }

    TEST_CASE("past the query buffer limit the connection is closed without a reply") {
        parse_limits l;
        l.max_query_buffer = 1000;
        const std::string big = multibulk({"SET", "k", std::string(2000, 'v')});
        SUBCASE("a request that grows past it") {
            const outcome o = run(cut(big, {100, 600, 1200}), l);
            CHECK(o.silent);
            CHECK(o.error != "");
            CHECK(o.commands.empty());
        }
        SUBCASE("requests under it, spanning receives") {
            const std::string ok = multibulk({"SET", "k", std::string(900, 'v')});
            const outcome o = run(cut(ok + ok, {500, 1400}), l);
            CHECK(o.error == "");
            CHECK(o.commands.size() == 2);
        }
    }

    TEST_CASE("empty requests are skipped") {
        const outcome o = whole("*0\r\n*-1\r\n*-5\r\n\r\n\n   \r\n\t\r\n*1\r\n$4\r\nPING\r\n");
        CHECK(o.error == "");
        CHECK(o.commands == std::vector<command>{{"PING"}});
        request_parser p;
        std::vector<std::string_view> argv;
        p.feed(net::buffer::copy_of("*0\r\n\r\n"));
        CHECK(p.next(argv) == parse_status::need_more);
        CHECK(argv.empty());
    }

    TEST_CASE("pipelined commands come out in order") {
        std::string s;
        std::vector<command> expected;
        for (int i = 0; i < 1000; ++i) {
            expected.push_back({"SET", "key:" + std::to_string(i), std::string(static_cast<std::size_t>(i % 50), 'v')});
            s += multibulk(expected.back());
            expected.push_back({"GET", "key:" + std::to_string(i)});
            s += "GET key:" + std::to_string(i) + "\r\n";
        }
        CHECK(whole(s).commands == expected);
        CHECK(run(cut(s, {7, 16384, 16385, 32768, 40000})).commands == expected);
    }

    TEST_CASE("inline commands split like Redis's sdssplitargs") {
        struct inline_case {
            std::string line;
            command args;
        };
        const std::vector<inline_case> cases = {
            {"SET \"a b\" 'c d'", {"SET", "a b", "c d"}},
            {"ECHO \"\\x41\\x4a\\x4g\"", {"ECHO", "AJx4g"}},
            {"ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\z\"", {"ECHO", "\n\r\t\b\a\\\"z"}},
            {"ECHO 'it\\'s' 'a\\nb'", {"ECHO", "it's", "a\\nb"}},
            {"ECHO \"\" ''", {"ECHO", "", ""}},
            {"ECHO a\"b c\"", {"ECHO", "ab c"}},
            {"  ECHO\t\ta  ", {"ECHO", "a"}},
            {"ECHO a\vb", {"ECHO", "a\vb"}},
            {"ECHO a\rb", {"ECHO", "a", "b"}},
            {"ECHO \"a\rb\"", {"ECHO", "a\rb"}},
        };
        for (const inline_case& c : cases) {
            CAPTURE(c.line);
            CHECK(whole(c.line + "\r\n").commands == std::vector<command>{c.args});
            CHECK(whole(c.line + "\n").commands == std::vector<command>{c.args});
            CHECK(run(bytes_of(c.line + "\r\n")).commands == std::vector<command>{c.args});
        }
        // One '\r' before the '\n' is the line's end; another is part of the line (a separator).
        CHECK(whole("PING\r\r\n").commands == std::vector<command>{{"PING"}});
    }

    TEST_CASE("a command within one receive is sliced from it, not copied") {
        request_parser p;
        std::vector<std::string_view> argv;
        const std::string first = multibulk({"SET", "key", "value"}) + multibulk({"GET", "key"});
        net::buffer b = net::buffer::copy_of(first);
        const char* lo = b.data();
        p.feed(std::move(b));
        for (int i = 0; i < 2; ++i) {
            REQUIRE(p.next(argv) == parse_status::command);
            for (std::string_view a : argv) {
                CHECK(within(a, lo, first.size()));
            }
        }
        CHECK(p.next(argv) == parse_status::need_more);
    }

    TEST_CASE("after a command that spans receives, commands within one receive are sliced from it again") {
        request_parser p;
        std::vector<std::string_view> argv;
        p.feed(net::buffer::copy_of("*2\r\n$3\r\nGET\r\n$3\r\nke"));
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        // The end of the spanning command, two whole ones, and the start of another.
        const std::string second = "y\r\n" + multibulk({"GET", "a"}) + multibulk({"GET", "b"}) + "*2\r\n$3\r\nGE";
        net::buffer b = net::buffer::copy_of(second);
        const char* lo = b.data();
        p.feed(std::move(b));
        REQUIRE(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"GET", "key"});
        for (const char* name : {"a", "b"}) {
            REQUIRE(p.next(argv) == parse_status::command);
            CHECK(argv[1] == name);
            CHECK(within(argv[0], lo, second.size()));
            CHECK(within(argv[1], lo, second.size()));
        }
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        const std::string third = "T\r\n$1\r\nc\r\n" + multibulk({"GET", "d"});
        b = net::buffer::copy_of(third);
        lo = b.data();
        p.feed(std::move(b));
        REQUIRE(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"GET", "c"});
        REQUIRE(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"GET", "d"});
        CHECK(within(argv[1], lo, third.size()));
    }

    TEST_CASE("commands returned before release stay valid while a large value is gathered after them") {
        request_parser p;
        std::vector<std::string_view> first;
        std::vector<std::string_view> argv;
        p.feed(net::buffer::copy_of("*2\r\n$4\r\nECHO\r\n$5\r\nhel"));
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        p.feed(net::buffer::copy_of("lo\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n" + std::string(100, 'v')));
        REQUIRE(p.next(first) == parse_status::command);
        CHECK(p.next(argv) == parse_status::need_more);
        CHECK(first == std::vector<std::string_view>{"ECHO", "hello"});
    }

    TEST_CASE("a large value arriving in pieces is copied once") {
        const std::size_t size = 8 << 20;
        const std::string value(size, 'v');
        const std::string set = multibulk({"SET", "k", value});
        const std::string header = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(size) + "\r\n";
        auto receive = [&](std::vector<std::string> chunks, std::size_t expected_commands) {
            std::vector<net::buffer> buffers;
            for (const std::string& c : chunks) {
                buffers.push_back(net::buffer::copy_of(c));
            }
            request_parser p;
            std::vector<std::string_view> argv;
            std::size_t commands = 0;
            std::size_t fed = 0;
            const std::size_t before = large_allocs;
            for (net::buffer& b : buffers) {
                fed += b.size();
                p.feed(std::move(b));
                parse_status s;
                while ((s = p.next(argv)) == parse_status::command) {
                    if (commands++ == 0) {
                        CHECK(argv[2].size() == size);
                        CHECK(argv[2] == value);
                    }
                }
                REQUIRE(s == parse_status::need_more);
                if (commands == 0) {
                    CHECK(p.buffered() == fed); // what arrived, held once
                }
                p.release_consumed();
            }
            CHECK(commands == expected_commands);
            if (counting_allocations) {
                CHECK(large_allocs - before == 1);
            }
            CHECK(p.buffered() == 0);
        };
        auto pieces = [](const std::string& s, std::size_t first, std::size_t n) {
            std::vector<std::size_t> at;
            for (std::size_t i = first; i < s.size(); i += n) {
                at.push_back(i);
            }
            return cut(s, at);
        };
        SUBCASE("16 KiB receives, the header in the first") {
            receive(pieces(set, 16384, 16384), 1);
        }
        SUBCASE("the header split across receives") {
            receive(pieces(set, header.size() - 3, 16384), 1);
        }
        SUBCASE("the last receive carries the next commands") {
            receive(pieces(set + multibulk({"GET", "k"}) + "PING\r\n", 16384, 16384), 3);
        }
        SUBCASE("uneven receives") {
            receive(cut(set + "PING\r\n", {5, 100, 70000, 70001, 4 << 20, set.size() - 1}), 2);
        }
    }

    TEST_CASE("a request of many large values is reallocated a few times, not once per value") {
        command mset{"MSET"};
        for (int i = 0; i < 64; ++i) {
            mset.push_back("k" + std::to_string(i));
            mset.push_back(std::string(40000, static_cast<char>('a' + i % 26)));
        }
        const std::string s = multibulk(mset);
        std::vector<std::size_t> at;
        for (std::size_t i = 16384; i < s.size(); i += 16384) {
            at.push_back(i);
        }
        const std::vector<std::string> chunks = cut(s, at);
        const std::size_t before = large_allocs;
        const outcome o = run(chunks);
        if (counting_allocations) {
            CHECK(large_allocs - before <= 3); // 2.5 MB gathered: room doubles from 1 MiB up
        }
        REQUIRE(o.commands.size() == 1);
        CHECK(o.commands[0] == mset);
    }

    TEST_CASE("release_consumed between receives keeps a partial command's place") {
        request_parser p;
        std::vector<std::string_view> argv;
        p.feed(net::buffer::copy_of(multibulk({"PING"}) + "*3\r\n$3\r\nSET\r\n$1\r\nk"));
        REQUIRE(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"PING"});
        p.release_consumed(); // mid-receive: the PING is done with
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        CHECK(p.buffered() == std::string("*3\r\n$3\r\nSET\r\n$1\r\nk").size());
        p.feed(net::buffer::copy_of("\r\n$5\r\nva"));
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        p.release_consumed(); // twice changes nothing
        p.feed(net::buffer::copy_of("lue\r\n" + multibulk({"GET", "k"})));
        REQUIRE(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"SET", "k", "value"});
        REQUIRE(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"GET", "k"});
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        CHECK(p.buffered() == 0);
    }

    TEST_CASE("asking again after need_more, or feeding nothing, changes nothing") {
        request_parser p;
        std::vector<std::string_view> argv;
        p.feed(net::buffer::copy_of("PING\r\n"));
        CHECK(p.next(argv) == parse_status::command);
        CHECK(p.next(argv) == parse_status::need_more);
        CHECK(p.next(argv) == parse_status::need_more);
        p.feed(net::buffer());
        CHECK(p.next(argv) == parse_status::need_more);
        p.release_consumed();
        CHECK(p.next(argv) == parse_status::need_more);
        p.feed(net::buffer::copy_of("PING\r\n"));
        CHECK(p.next(argv) == parse_status::command);
        CHECK(argv == std::vector<std::string_view>{"PING"});
    }

    TEST_CASE("an empty receive changes nothing, and an error stays") {
        request_parser p;
        std::vector<std::string_view> argv;
        p.feed(net::buffer());
        CHECK(p.next(argv) == parse_status::need_more);
        p.feed(net::buffer::copy_of("*1\r\n$4\r\nPI"));
        CHECK(p.next(argv) == parse_status::need_more);
        p.feed(net::buffer());
        CHECK(p.next(argv) == parse_status::need_more);
        p.feed(net::buffer::copy_of("NG\r\n*x\r\n"));
        CHECK(p.next(argv) == parse_status::command);
        CHECK(p.next(argv) == parse_status::error);
        CHECK(p.next(argv) == parse_status::error);
        CHECK(p.failed());
        CHECK(p.error() == "ERR Protocol error: invalid multibulk length");
    }

} // TEST_SUITE
