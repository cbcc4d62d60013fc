/// \file
/// \brief Percent-decoding of request paths and query components (RFC 3986 2.1).
///
/// \code
/// std::string path;
/// if (!percore::net::http::percent_decode(req.param("path"), path)) co_return http::response::error(400);
/// \endcode
#pragma once

#include <string>
#include <string_view>

namespace percore::net::http {

/// Decodes "%XX" escapes of `in` into `out` (replacing its contents); with `plus_is_space` (query strings),
/// '+' becomes ' '. \return false for a malformed escape ('%' not followed by two hex digits)
[[nodiscard]] bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

} // namespace percore::net::http
