/// \file
/// \brief `recv_window`: the received bytes of an HTTP connection not yet consumed. Zero-copy while a request
/// head lies within one receive buffer (the usual case); a head spanning receives is gathered into a carry-over
/// string that grows by appending.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "net/buffer.hh"

namespace percore::net::http::detail {

class recv_window {
public:
    [[nodiscard]] std::string_view view() const noexcept {
        return _carrying ? std::string_view(_carry).substr(_pos) : _buf.view().substr(_pos);
    }
    [[nodiscard]] bool empty() const noexcept { return view().empty(); }

    /// Drops `n` bytes from the front; the storage goes (a ring slot back to the kernel) once all are consumed.
    void consume(std::size_t n) noexcept {
        _pos += n;
        if (_pos == (_carrying ? _carry.size() : _buf.size())) {
            _buf.reset();
            _carry.clear();
            _carrying = false;
            _pos = 0;
        }
    }

    /// Adds received bytes. \warning invalidates views of the current bytes (they may move to the carry).
    void append(buffer b) {
        if (empty()) {
            _buf = std::move(b);
            _carry.clear();
            _carrying = false;
            _pos = 0;
            return;
        }
        if (!_carrying) {
            _carry.assign(view());
            _buf.reset();
            _carrying = true;
        } else {
            _carry.erase(0, _pos);
        }
        _pos = 0;
        _carry.append(b.view());
    }

private:
    buffer _buf;
    std::string _carry;
    bool _carrying = false;
    std::size_t _pos = 0;
};

} // namespace percore::net::http::detail
