#include "apps/kv/expiry_index.hh"

namespace percore::kv {

void expiry_index::set(key_node* k, std::int64_t at) {
    if (k->has(key_node::has_expiry)) {
        find(k)->at = at;
        return;
    }
    auto* e = new entry{nullptr, k, at};
    _table.insert(e, pointer_hash(k));
    k->set(key_node::has_expiry, true);
}

void expiry_index::remove(key_node* k) noexcept {
    entry* e = find(k);
    _table.remove(e, pointer_hash(k));
    delete e;
    k->set(key_node::has_expiry, false);
}

void expiry_index::clear() noexcept {
    _table.clear([](entry* e) { delete e; });
}

} // namespace percore::kv
