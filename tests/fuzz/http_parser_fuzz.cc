// libFuzzer target for the HTTP/1.x request-head parser and the chunked-body decoder. Checked:
// - nothing crashes; every view the parser returns lies inside the input (ASan reads each one);
// - a complete head is incomplete at every shorter prefix that is still within the limits (the parser never
//   decides on bytes it has not seen), and the head parsed from a prefix is the head parsed from the whole;
// - the chunked decoder gives the same outcome (body, consumed bytes, error) fed whole or split anywhere, and
//   never consumes past the end of its body.
//
// Input: one byte of options, then the bytes. Bit 0: tiny limits (to reach the 414/431/413 paths). Bit 1: the
// bytes are a chunked body rather than a head. Bits 2-7: seed of the split points.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/request_parser.hh"

using namespace percore::net::http;

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void touch(std::string_view inside, std::string_view v) {
    if (v.empty()) {
        return;
    }
    check(v.data() >= inside.data() && v.data() + v.size() <= inside.data() + inside.size());
    volatile char sink = 0;
    for (char c : v) {
        sink = static_cast<char>(sink + c);
    }
}

std::string describe(const request& req) {
    std::string s(req.method_name());
    s += '|';
    s += req.target();
    s += '|';
    s += req.path();
    s += '|';
    s += req.query();
    s += '|';
    s += std::to_string(req.version_minor());
    for (const header_field& h : req.headers()) {
        s += '|';
        s += h.name;
        s += ':';
        s += h.value;
    }
    const framing f = parse_framing(req, limits{});
    s += '|' + std::to_string(f.error) + ',' + std::to_string(static_cast<int>(f.body)) + ',' +
         std::to_string(f.content_length) + ',' + std::to_string(f.keep_alive);
    return s;
}

void fuzz_head(std::string_view data, const limits& lim) {
    request req;
    std::vector<header_field> fields;
    const head_result whole = parse_request_head(data, lim, req, fields);
    check(whole.consumed <= data.size());
    if (whole.status != parse_status::complete) {
        return;
    }
    touch(data, req.method_name());
    touch(data, req.target());
    if (req.path() != "/") {
        touch(data, req.path());
    }
    touch(data, req.query());
    for (const header_field& h : req.headers()) {
        touch(data, h.name);
        touch(data, h.value);
    }
    const std::string want = describe(req);
    // Every proper prefix of the head is incomplete (the limits hold on the whole, so on its prefixes too).
    for (std::size_t n = 0; n < whole.consumed; ++n) {
        request partial;
        std::vector<header_field> pf;
        check(parse_request_head(data.substr(0, n), lim, partial, pf).status == parse_status::incomplete);
    }
    request again;
    std::vector<header_field> af;
    const head_result exact = parse_request_head(data.substr(0, whole.consumed), lim, again, af);
    check(exact.status == parse_status::complete && exact.consumed == whole.consumed);
    check(describe(again) == want);
}

struct chunk_outcome {
    std::string body;
    parse_status status = parse_status::incomplete;
    std::size_t consumed = 0;
    int error = 0;
    bool operator==(const chunk_outcome&) const = default;
};

chunk_outcome dechunk(std::string_view data, const limits& lim, std::uint32_t seed) {
    chunked_decoder dec(lim);
    chunk_outcome o;
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t step = data.size() - pos;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            step = 1 + (seed >> 16) % std::min<std::size_t>(step, 16);
        }
        const chunk_result r = dec.feed(data.substr(pos, step), o.body);
        check(r.consumed <= step);
        pos += r.consumed;
        if (r.status != parse_status::incomplete) {
            o.status = r.status;
            o.error = r.error;
            break;
        }
        check(r.consumed == step); // incomplete: everything was taken
    }
    o.consumed = pos;
    check(o.body.size() <= lim.max_body_size);
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t options = bytes[0];
    const std::string copy(reinterpret_cast<const char*>(bytes + 1), size - 1); // exact-size heap: ASan bounds
    limits lim;
    if ((options & 1) != 0) {
        lim.max_request_line = 24;
        lim.max_header_bytes = 48;
        lim.max_headers = 3;
        lim.max_body_size = 40;
        lim.max_chunk_line = 12;
    }
    if ((options & 2) == 0) {
        fuzz_head(copy, lim);
        return 0;
    }
    const chunk_outcome whole = dechunk(copy, lim, 0);
    const chunk_outcome split = dechunk(copy, lim, (options >> 2) + 1u);
    // Errors are found at the same byte whatever the split; a split never changes the body.
    check(whole == split);
    return 0;
}
