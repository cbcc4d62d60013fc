/// \file
/// \brief Helpers the command implementations share: Redis's number parsing and formatting, option matching.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "apps/kv/command.hh"
#include "apps/kv/keyspace.hh"

namespace percore::kv {

/// Redis's string2ll: an optional '-', digits, no leading zero but "0", no spaces, no '+', no overflow.
[[nodiscard]] bool parse_int(std::string_view s, std::int64_t& out) noexcept;
/// Redis's string2ld / strtod with its checks: the whole string, no spaces, not NaN.
[[nodiscard]] bool parse_long_double(std::string_view s, long double& out) noexcept;
[[nodiscard]] bool parse_double(std::string_view s, double& out) noexcept;
/// A long double as INCRBYFLOAT and HINCRBYFLOAT print it ("%.17Lf" without trailing zeros).
[[nodiscard]] std::string format_long_double(long double v);

/// ASCII case-insensitive equality (`b` is lower case).
[[nodiscard]] bool iequals(std::string_view a, std::string_view lower) noexcept;

/// Redis's glob matcher (stringmatchlen): * ? [abc] [^a-z] and backslash escapes.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false) noexcept;

/// The value of `key` when it is a string; replies WRONGTYPE and returns null for another type, returns null
/// (no reply) when absent. `found` says which.
object* string_or_reply(exec_context& ctx, std::string_view key, bool& wrong_type);

/// Looks up `key` expecting type `t`: null when absent; WRONGTYPE replied and `wrong` set for another type.
object* typed(exec_context& ctx, std::string_view key, value_type t, bool& wrong);

/// Parses an integer argument or replies "value is not an integer or out of range".
[[nodiscard]] bool int_arg(exec_context& ctx, std::string_view s, std::int64_t& out);

/// Parses a count that must be >= 0 (LPOP, SPOP, ZPOPMIN...); replies "value is out of range, must be positive"
/// for anything else, a non-integer included.
[[nodiscard]] bool count_arg(exec_context& ctx, std::string_view s, std::int64_t& out);

/// Records a change of the aggregate `o` held by `key`, and deletes the key if the change left it empty (as Redis
/// does). \warning `o` is gone when the key was deleted
void aggregate_changed(exec_context& ctx, std::string_view key, const object& o);

/// Like typed(), for a command that reads: the lookup counts as a keyspace hit or miss (INFO).
object* read_typed(exec_context& ctx, std::string_view key, value_type t, bool& wrong);

} // namespace percore::kv
