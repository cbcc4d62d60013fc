/// \file
/// \brief Each command family's part of the command table.
#pragma once

#include <span>

#include "apps/kv/command.hh"

namespace percore::kv {

[[nodiscard]] std::span<const command_spec> string_commands() noexcept;
[[nodiscard]] std::span<const command_spec> key_commands() noexcept;
[[nodiscard]] std::span<const command_spec> server_commands() noexcept;
[[nodiscard]] std::span<const command_spec> list_commands() noexcept;
[[nodiscard]] std::span<const command_spec> set_commands() noexcept;
[[nodiscard]] std::span<const command_spec> hash_commands() noexcept;
[[nodiscard]] std::span<const command_spec> zset_commands() noexcept;
[[nodiscard]] std::span<const command_spec> zset_range_commands() noexcept;

} // namespace percore::kv
