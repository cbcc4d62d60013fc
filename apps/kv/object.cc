#include "apps/kv/object.hh"

namespace percore::kv {

object object::make(value_type t) {
    object o;
    switch (t) {
    case value_type::string:
        break;
    case value_type::list:
        o._v = std::make_unique<list_value>();
        break;
    case value_type::set:
        o._v = std::make_unique<set_value>();
        break;
    case value_type::hash:
        o._v = std::make_unique<hash_value>();
        break;
    case value_type::zset:
        o._v = std::make_unique<zset_value>();
        break;
    }
    return o;
}

object object::clone() const {
    object o;
    switch (type()) {
    case value_type::string:
        o._v = str();
        break;
    case value_type::list:
        o._v = std::make_unique<list_value>(list());
        break;
    case value_type::set:
        o._v = std::make_unique<set_value>(set());
        break;
    case value_type::hash:
        o._v = std::make_unique<hash_value>(hash());
        break;
    case value_type::zset:
        o._v = std::make_unique<zset_value>(zset());
        break;
    }
    return o;
}

bool object::empty_aggregate() const noexcept {
    switch (type()) {
    case value_type::string:
        return false;
    case value_type::list:
        return list().empty();
    case value_type::set:
        return set().size() == 0;
    case value_type::hash:
        return hash().empty();
    case value_type::zset:
        return zset().size() == 0;
    }
    return false;
}

std::size_t object::memory() const noexcept {
    // Estimates: element counts times a typical node size. Exact figures come from the allocator (INFO memory).
    switch (type()) {
    case value_type::string:
        return str().capacity() + 1;
    case value_type::list:
        return list().size() * 40;
    case value_type::set:
        return set().size() * 96;
    case value_type::hash:
        return hash().size() * 96;
    case value_type::zset:
        return zset().size() * 128;
    }
    return 0;
}

} // namespace percore::kv
