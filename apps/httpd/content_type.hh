/// \file
/// \brief The Content-Type of a file from its extension.
#pragma once

#include <string_view>

namespace percore::httpd {

/// "text/html; charset=utf-8" for "index.html"...; "application/octet-stream" for unknown extensions.
[[nodiscard]] std::string_view content_type_for(std::string_view file_name) noexcept;

} // namespace percore::httpd
