#include "apps/load/http_protocol.hh"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace percore::load {

namespace {

constexpr std::size_t max_head = 16 * 1024;

/// The value of Content-Length in a response head; npos when absent or malformed.
std::size_t content_length(std::string_view head) noexcept {
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
        pos += 2;
        std::string_view line = head.substr(pos, head.find("\r\n", pos) - pos);
        constexpr std::string_view name = "content-length:";
        if (line.size() > name.size()) {
            bool same = true;
            for (std::size_t i = 0; i < name.size() && same; ++i) {
                const char c = line[i] >= 'A' && line[i] <= 'Z' ? static_cast<char>(line[i] - 'A' + 'a') : line[i];
                same = c == name[i];
            }
            if (same) {
                std::string_view v = line.substr(name.size());
                while (!v.empty() && v.front() == ' ') {
                    v.remove_prefix(1);
                }
                std::size_t n = 0;
                auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                return ec == std::errc() && end == v.data() + v.size() ? n : std::string_view::npos;
            }
        }
    }
    return std::string_view::npos;
}

class http_codec final : public codec {
public:
    http_codec(std::uint64_t connection_id, const std::string& request)
        : _connection(connection_id)
        , _request(request) {}

    net::output_stream::write_awaiter write_request(net::output_stream& out, std::uint64_t) override {
        return out.write(std::string_view(_request));
    }

    task<check_result> read_reply(net::input_stream& in, std::uint64_t seq) override {
        net::buffer head = co_await in.read_until("\r\n\r\n", max_head);
        const std::string_view h = head.view();
        if (h.size() < 4 || h.substr(h.size() - 4) != "\r\n\r\n") {
            co_return check_result{fmt::format("connection {}, request {}: connection closed by the server "
                                               "before a whole response head ({} bytes)",
                                               _connection, seq, h.size())};
        }
        if (h.substr(0, 13) != "HTTP/1.1 200 ") {
            co_return check_result{fmt::format("connection {}, request {}: not a 200: \"{}\"", _connection, seq,
                                               printable(h.substr(0, std::min<std::size_t>(h.size(), 40))))};
        }
        const std::size_t length = content_length(h);
        if (length == std::string_view::npos) {
            co_return check_result{
                fmt::format("connection {}, request {}: no Content-Length in the response", _connection, seq)};
        }
        if (length > 0) {
            net::buffer body = co_await in.read_exactly(length);
            if (body.size() != length) {
                co_return check_result{fmt::format("connection {}, request {}: closed after {} of {} body bytes",
                                                   _connection, seq, body.size(), length)};
            }
        }
        co_return check_result{};
    }

private:
    std::uint64_t _connection;
    const std::string& _request;
};

class http_protocol final : public protocol {
public:
    explicit http_protocol(std::string path)
        : _request(fmt::format("GET {} HTTP/1.1\r\nHost: percore-load\r\n\r\n", path)) {}

    std::unique_ptr<codec> open(std::uint64_t connection_id) override {
        return std::make_unique<http_codec>(connection_id, _request);
    }

private:
    std::string _request;
};

} // namespace

std::unique_ptr<protocol> make_http_protocol(const protocol_options& options) {
    if (options.path.empty() || options.path.front() != '/') {
        throw std::invalid_argument(fmt::format("--path must start with '/': '{}'", options.path));
    }
    return std::make_unique<http_protocol>(options.path);
}

} // namespace percore::load
