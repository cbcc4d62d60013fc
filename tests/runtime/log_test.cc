#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include "runtime/log.hh"
#include "tests/support/log_capture.hh"

using namespace percore;

namespace {

/// Restores the default levels and format when a test ends.
struct log_defaults {
    log_defaults() { reset(); }
    ~log_defaults() { reset(); }
    static void reset() {
        set_log_levels({});
        set_log_format(log_format::text);
    }
};

} // namespace

TEST_SUITE("runtime/log") {
    TEST_CASE("a level list sets the default and per-component levels") {
        const log_levels l = parse_log_levels("info, net=debug ,kv=warn");
        CHECK(l.level == log_level::info);
        REQUIRE(l.components.size() == 2);
        CHECK(l.components[0] == std::pair<std::string, log_level>{"net", log_level::debug});
        CHECK(l.components[1] == std::pair<std::string, log_level>{"kv", log_level::warn});
        CHECK(parse_log_levels("net=trace", {.level = log_level::error, .components = {}}).level == log_level::error);
        CHECK(parse_log_levels("net=info,net=error").components.size() == 1); // the last one wins
        CHECK_THROWS_AS((void)parse_log_levels("loud"), std::invalid_argument);
        CHECK_THROWS_AS((void)parse_log_levels("=debug"), std::invalid_argument);
        CHECK_THROWS_AS((void)parse_log_levels("net=,info"), std::invalid_argument);
        CHECK_THROWS_AS((void)parse_log_levels(""), std::invalid_argument);
    }

    TEST_CASE("a component's level applies to its logger and its dotted children, the longest match winning") {
        log_defaults restore;
        set_log_levels(parse_log_levels("warn,net=debug,net.server=error"));
        CHECK(log_level_for("net") == log_level::debug);
        CHECK(log_level_for("net.udp") == log_level::debug);
        CHECK(log_level_for("net.server") == log_level::error);
        CHECK(log_level_for("network") == log_level::warn); // not a child of "net"
        CHECK(log_level_for("engine") == log_level::warn);
        CHECK(logger("net").is_enabled(log_level::debug));
        CHECK_FALSE(logger("net").is_enabled(log_level::trace));
        CHECK_FALSE(logger("engine").is_enabled(log_level::info));
        CHECK(logger("engine").is_enabled(log_level::warn));
    }

    TEST_CASE("levels filter what reaches the sink") {
        log_defaults restore;
        test::log_capture lines;
        set_log_levels(parse_log_levels("warn,kv=debug"));
        logger("kv").debug("kv detail {}", 1);
        logger("engine").info("engine chatter");
        logger("engine").warn("engine warning");
        CHECK(lines.contains({"DEBUG", "kv: kv detail 1"}));
        CHECK_FALSE(lines.contains({"engine chatter"}));
        CHECK(lines.contains({"WARN ", "engine: engine warning"}));
    }

    TEST_CASE("json lines carry time, level, shard, logger and an escaped message") {
        log_defaults restore;
        test::log_capture lines;
        set_log_format(log_format::json);
        set_log_shard_id(3);
        logger("echo").warn("quote \" backslash \\ newline \n tab \t bell \x07 bad \xff end");
        set_log_shard_id(-1);
        logger("echo").info("off shard");
        const std::string all = lines.all();
        CHECK(all.find("\"level\":\"warn\",\"shard\":3,\"logger\":\"echo\",\"message\":\"quote \\\" backslash \\\\ "
                       "newline \\n tab \\t bell \\u0007 bad \\ufffd end\"}\n") != std::string::npos);
        CHECK(all.find("\"shard\":null,\"logger\":\"echo\",\"message\":\"off shard\"}\n") != std::string::npos);
        CHECK(all.starts_with("{\"time\":\"20"));
        CHECK(all.find("Z\",\"level\"") != std::string::npos);
    }

    TEST_CASE("json escaping keeps valid UTF-8 and replaces each invalid byte") {
        std::string out;
        append_json_escaped(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
        CHECK(out == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
        out.clear();
        append_json_escaped(out, "\xc0\xaf|\xed\xa0\x80|\xe2\x82|\x80");
        CHECK(out == "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd"); // overlong, surrogate, cut, stray
    }

    TEST_CASE("log formats parse by name") {
        CHECK(parse_log_format("json") == log_format::json);
        CHECK(parse_log_format("text") == log_format::text);
        CHECK_FALSE(parse_log_format("xml").has_value());
    }
}
