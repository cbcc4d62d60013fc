#include "apps/httpd/file_cache.hh"

namespace percore::httpd {

const file_cache::entry* file_cache::find(std::string_view key, time_point now) {
    auto it = _index.find(key);
    if (it == _index.end()) {
        return nullptr;
    }
    if (now - it->second->loaded >= _o.ttl) {
        erase(it->second);
        return nullptr;
    }
    _lru.splice(_lru.begin(), _lru, it->second);
    return &*it->second;
}

void file_cache::insert(std::string key, net::buffer data, std::string_view content_type, time_point now) {
    if (data.size() > _o.max_file || data.size() > _o.max_bytes) {
        return;
    }
    if (auto it = _index.find(key); it != _index.end()) {
        erase(it->second);
    }
    while (!_lru.empty() && _bytes + data.size() > _o.max_bytes) {
        erase(std::prev(_lru.end()));
    }
    _bytes += data.size();
    _lru.push_front(entry{key, std::move(data), content_type, now});
    _index.emplace(std::move(key), _lru.begin());
}

void file_cache::erase(std::list<entry>::iterator it) {
    _bytes -= it->data.size();
    _index.erase(it->key);
    _lru.erase(it);
}

} // namespace percore::httpd
