/// \file
/// \brief The Date header value (RFC 9110 5.6.7, "Sun, 06 Nov 1994 08:49:37 GMT"), formatted once per second
/// per shard.
#pragma once

#include <string_view>

namespace percore::net::http::detail {

/// Today's IMF-fixdate; the view stays valid until the next call on this thread. \shard_local
[[nodiscard]] std::string_view http_date() noexcept;

} // namespace percore::net::http::detail
