/// \file
/// \brief HTTP status codes: the reason phrase of each.
///
/// \code
/// std::string_view r = percore::net::http::reason_phrase(404);   // "Not Found"
/// \endcode
#pragma once

#include <string_view>

namespace percore::net::http {

/// The standard reason phrase of `status` (RFC 9110 15); "Unknown" for codes it does not list.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

} // namespace percore::net::http
