#include "net/http/response.hh"

#include <charconv>
#include <stdexcept>

#include "net/http/status.hh"

namespace percore::net::http {

response response::text(int status, std::string body) {
    response r(status);
    r.set_content_type("text/plain; charset=utf-8");
    r.set_body(std::move(body));
    return r;
}

response response::error(int status) {
    response r(status);
    r.set_content_type("text/plain; charset=utf-8");
    std::string body = std::to_string(status);
    body += ' ';
    body += reason_phrase(status);
    body += '\n';
    r.set_body(std::move(body));
    return r;
}

response response::stream(int status, std::string_view content_type, body_stream fn,
                          std::optional<std::uint64_t> length) {
    response r(status);
    r.set_content_type(content_type);
    r.set_stream(std::move(fn), length);
    return r;
}

void response::set_content_type(std::string_view type) {
    if (type.size() <= sizeof _ctype) {
        type.copy(_ctype, type.size());
        _ctype_len = static_cast<std::uint8_t>(type.size());
        return;
    }
    _ctype_len = 0;
    add_header("Content-Type", type);
}

void body_writer::check_length(std::size_t n) {
    if (_framing == framing::length) {
        if (n > _remaining) {
            throw std::length_error("http::body_writer: more bytes than the declared Content-Length");
        }
        _remaining -= n;
    }
}

task<> body_writer::write(std::string_view bytes) {
    if (bytes.empty()) {
        co_return; // an empty chunk would end a chunked body
    }
    check_length(bytes.size());
    if (_framing == framing::chunked) {
        char line[24];
        auto [end, ec] = std::to_chars(line, line + sizeof line - 2, bytes.size(), 16);
        (void)ec;
        *end++ = '\r';
        *end++ = '\n';
        co_await _out->write(std::string_view(line, static_cast<std::size_t>(end - line)));
        co_await _out->write(bytes);
        co_await _out->write(std::string_view("\r\n"));
    } else {
        co_await _out->write(bytes);
    }
    co_await _out->flush();
}

task<> body_writer::write(buffer b) {
    if (b.empty()) {
        co_return;
    }
    check_length(b.size());
    if (_framing == framing::chunked) {
        char line[24];
        auto [end, ec] = std::to_chars(line, line + sizeof line - 2, b.size(), 16);
        (void)ec;
        *end++ = '\r';
        *end++ = '\n';
        co_await _out->write(std::string_view(line, static_cast<std::size_t>(end - line)));
        co_await _out->write(std::move(b));
        co_await _out->write(std::string_view("\r\n"));
    } else {
        co_await _out->write(std::move(b));
    }
    co_await _out->flush();
}

task<> body_writer::finish() {
    if (_framing == framing::chunked) {
        co_await _out->write(std::string_view("0\r\n\r\n"));
    }
}

} // namespace percore::net::http
