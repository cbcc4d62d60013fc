// The payload of a percore-kv log record (apps/kv/persistence/record_codec.hh) and a key's value as commands
// (object_codec.hh): what is encoded reads back the same, damage is reported, never read past.
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "apps/kv/persistence/object_codec.hh"
#include "apps/kv/persistence/record_codec.hh"
#include "apps/kv/zset.hh"

using namespace percore::kv;
using namespace percore::kv::persistence;

TEST_SUITE("apps/kv/record_codec") {
    TEST_CASE("commands and clocks read back in order, with binary-safe arguments") {
        std::string rec;
        encode_clock(rec, 1700000000123);
        const std::string_view set[] = {"SET", "k", std::string_view("a\r\n\0b", 5)};
        encode_command(rec, set);
        encode_clock(rec, 1700000000999);
        const std::string_view del[] = {"DEL", ""};
        encode_command(rec, del);
        record_reader r(rec);
        CHECK_FALSE(r.txn().has_value());
        std::vector<std::string_view> argv;
        REQUIRE(r.next(argv));
        CHECK(argv == std::vector<std::string_view>(std::begin(set), std::end(set)));
        CHECK(r.clock() == 1700000000123);
        REQUIRE(r.next(argv));
        CHECK(argv == std::vector<std::string_view>{"DEL", ""});
        CHECK(r.clock() == 1700000000999);
        CHECK_FALSE(r.next(argv));
        CHECK(r.ok());
    }

    TEST_CASE("a transaction header carries the id and the participants") {
        std::string rec;
        const unsigned parts[] = {0, 3, 7};
        encode_txn_header(rec, 0x1234567890abcdefULL, parts);
        const std::string_view cmd[] = {"SET", "a", "1"};
        encode_command(rec, cmd);
        record_reader r(rec);
        REQUIRE(r.txn().has_value());
        CHECK(r.txn()->id == 0x1234567890abcdefULL);
        CHECK(r.txn()->participants == std::vector<unsigned>{0, 3, 7});
        auto peeked = peek_txn({reinterpret_cast<const std::byte*>(rec.data()), rec.size()});
        REQUIRE(peeked.has_value());
        CHECK(peeked->id == 0x1234567890abcdefULL);
        std::vector<std::string_view> argv;
        CHECK(r.next(argv));
        CHECK(argv.size() == 3);
    }

    TEST_CASE("a payload cut inside an item is reported, never read past") {
        // (Cut between items it is a shorter valid payload: the log's record checksum is what catches that.)
        std::string rec;
        const unsigned parts[] = {1, 2};
        encode_txn_header(rec, 42, parts);
        const std::size_t after_header = rec.size();
        encode_clock(rec, 5);
        const std::size_t after_clock = rec.size();
        const std::string_view cmd[] = {"RPUSH", "list", "element"};
        encode_command(rec, cmd);
        for (std::size_t n = 1; n < rec.size(); ++n) {
            if (n == after_header || n == after_clock) {
                continue;
            }
            const std::string cut = rec.substr(0, n); // its own allocation: ASan catches a read past it
            record_reader r(cut);
            std::vector<std::string_view> argv;
            while (r.next(argv)) {
            }
            CHECK_MESSAGE(!r.ok(), "a payload cut at " << n << " bytes reads as damaged");
        }
    }

    TEST_CASE("a value becomes commands: strings with absolute expiry, aggregates in bounded chunks") {
        std::string rec;
        encode_key(rec, "s", object("hello"), 1700000000000);
        object list = object::make(value_type::list);
        for (int i = 0; i < 600; ++i) {
            list.list().push_back(std::to_string(i));
        }
        encode_key(rec, "l", list, std::nullopt);
        object z = object::make(value_type::zset);
        z.zset().set("low", -std::numeric_limits<double>::infinity());
        z.zset().set("third", 1.0 / 3.0);
        encode_key(rec, "z", z, 99);
        record_reader r(rec);
        std::vector<std::vector<std::string>> cmds;
        std::vector<std::string_view> argv;
        while (r.next(argv)) {
            cmds.emplace_back(argv.begin(), argv.end());
        }
        REQUIRE(r.ok());
        CHECK(cmds[0] == std::vector<std::string>{"SET", "s", "hello", "PXAT", "1700000000000"});
        CHECK(cmds[1] == std::vector<std::string>{"DEL", "l"});
        std::size_t elements = 0;
        std::size_t i = 2;
        for (; cmds[i][0] == "RPUSH"; ++i) {
            CHECK(cmds[i].size() <= 2 + elements_per_command);
            elements += cmds[i].size() - 2;
        }
        CHECK(elements == 600);
        CHECK(cmds[i] == std::vector<std::string>{"DEL", "z"});
        CHECK(cmds[i + 1] == std::vector<std::string>{"ZADD", "z", "-inf", "low", score_text(1.0 / 3.0), "third"});
        CHECK(std::stod(score_text(1.0 / 3.0)) == 1.0 / 3.0); // the score reads back exactly
        CHECK(cmds[i + 2] == std::vector<std::string>{"PEXPIREAT", "z", "99"});
    }
}
