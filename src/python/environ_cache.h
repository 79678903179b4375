// SPDX-License-Identifier: Apache-2.0
// EnvironCache: what every environ of one interpreter shares, made once: the interned str keys of
// the known names (python/environ_names.h), the str of each repeating value while its bytes stay
// the same, and the constant values (wsgi.version, the URL schemes, the version tuples). Every
// object here is immutable, so requests sharing it cannot tell. Python objects only.
#pragma once

#include "python/python.h"

#include <array>
#include <cstddef>
#include <string_view>

#include "python/environ_names.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// The longest value whose str is kept for the next request. The server's variables and the
/// usual Accept, User-Agent or Host values are well below it; with it, what the cache holds stays
/// small (at most this much per known name) however long the values a client sends.
inline constexpr std::size_t kMaxReusedValueBytes = 256;

/// Decodes an environ value's bytes as `decoding` says. Empty PyRef with a Python exception set
/// on failure. GIL held.
PyRef decodeEnvironValue(std::string_view bytes, ValueDecoding decoding);

/// One interpreter's cache (each sub-interpreter has its own, as it has its own types). Every
/// member runs with the GIL held and the owning interpreter current; the objects it hands out are
/// borrowed unless it says otherwise. Holds references: clear() or abandon() them.
class EnvironCache {
public:
    /// Makes the keys and constants in the current interpreter; false with a Python exception.
    bool create();
    /// Drops the references (GIL held, the owning interpreter current).
    void clear() noexcept;
    /// Forgets the references without touching Python.
    void abandon() noexcept;

    /// The interned str of kEnvironNames[slot]. Precondition: create() succeeded.
    [[nodiscard]] PyObject* key(std::size_t slot) const noexcept { return keys_[slot].get(); }

    /// A new reference to the str of `bytes` as the value of kEnvironNames[slot]: the one the
    /// previous request got when the name's value repeats and the bytes are the same, else a new
    /// one (then kept for the next request if the name's value repeats). Empty PyRef with a
    /// Python exception set on failure.
    PyRef value(std::size_t slot, std::string_view bytes);

    /// (1, 0)
    [[nodiscard]] PyObject* wsgiVersion() const noexcept { return wsgiVersion_.get(); }
    /// "https" or "http"
    [[nodiscard]] PyObject* urlScheme(bool https) const noexcept {
        return https ? https_.get() : http_.get();
    }
    /// mod_wsgi.version: the mod_wsgi release whose environ we reproduce.
    [[nodiscard]] PyObject* modWsgiVersion() const noexcept { return modWsgiVersion_.get(); }
    /// mod_wsgid.version: ours, from PACKAGE_VERSION.
    [[nodiscard]] PyObject* ownVersion() const noexcept { return ownVersion_.get(); }

private:
    std::array<PyRef, kEnvironNames.size()> keys_;
    std::array<PyRef, kEnvironNames.size()> values_;  // the last value of each repeating name
    PyRef wsgiVersion_;
    PyRef http_;
    PyRef https_;
    PyRef modWsgiVersion_;
    PyRef ownVersion_;
};

}  // namespace wsgid::python
