// SPDX-License-Identifier: Apache-2.0
// Building the environ dict (see environ.h).
#include "python/environ.h"

#include <array>
#include <charconv>
#include <chrono>
#include <optional>

namespace wsgid::python {

namespace {

constexpr std::size_t kScriptName = environSlot("SCRIPT_NAME");
constexpr std::size_t kPathInfo = environSlot("PATH_INFO");
constexpr std::size_t kSnapshotScriptName = environSlot("mod_wsgi.script_name");
constexpr std::size_t kSnapshotPathInfo = environSlot("mod_wsgi.path_info");

// d[the key of known name `slot`] = value; an empty `value` (its exception set) fails.
bool setKnown(PyObject* d, const EnvironCache& cache, std::size_t slot, const PyRef& value) {
    return value && PyDict_SetItem(d, cache.key(slot), value.get()) == 0;
}

bool setBorrowed(PyObject* d, const EnvironCache& cache, std::size_t slot, PyObject* value) {
    return PyDict_SetItem(d, cache.key(slot), value) == 0;
}

// d[the key of known name `slot`] = the str of `bytes`, through the cache.
bool setValue(PyObject* d, EnvironCache& cache, std::size_t slot, std::string_view bytes) {
    return setKnown(d, cache, slot, cache.value(slot, bytes));
}

// One entry of the request's environ: a known name through the cache, any other with a key and
// value made for this request.
bool setEntry(PyObject* d, EnvironCache& cache, std::optional<std::size_t> slot,
              std::string_view key, std::string_view value) {
    if (slot) {
        return setValue(d, cache, *slot, value);
    }
    PyRef k = decodeEnvironValue(key, ValueDecoding::Latin1);
    PyRef v = decodeEnvironValue(value, ValueDecoding::Latin1);
    return k && v && PyDict_SetItem(d, k.get(), v.get()) == 0;
}

// The wsgi.* and mod_wsgi.* entries buildEnviron adds to the request's own.
constexpr std::size_t kDaemonEntries = 18;

// An empty dict with room for `entries` (CPython < 3.13 exports the call): filling it then
// never grows its table, which otherwise happens twice for a usual environ (what that cost:
// docs/performance.md, "What each optimisation bought"). Later versions get a plain dict.
PyRef newEnvironDict(std::size_t entries) {
#if PY_VERSION_HEX < 0x030D0000
    return PyRef::steal(_PyDict_NewPresized(static_cast<Py_ssize_t>(entries)));
#else
    (void)entries;
    return PyRef::steal(PyDict_New());
#endif
}

// Microseconds since the epoch, as mod_wsgi's *_start environ values, in decimal.
PyRef nowMicrosText() {
    const long long micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    std::array<char, 24> digits{};
    const std::to_chars_result written =
        std::to_chars(digits.data(), digits.data() + digits.size(), micros);
    return decodeEnvironValue(
        std::string_view(digits.data(), static_cast<std::size_t>(written.ptr - digits.data())),
        ValueDecoding::Latin1);
}

}  // namespace

bool httpsIsOn(std::string_view value) noexcept {
    if (value == "1") {
        return true;
    }
    return value.size() == 2 && (value[0] == 'o' || value[0] == 'O') &&
           (value[1] == 'n' || value[1] == 'N');
}

PyRef buildEnviron(const WsgiRequest& request, const EnvironSettings& settings,
                   const EnvironObjects& objects, EnvironCache& cache) {
    PyRef environ = newEnvironDict(request.environ.size() + kDaemonEntries);
    if (!environ) {
        return {};
    }
    PyObject* d = environ.get();
    bool https = false;
    std::string_view scriptName;
    std::string_view pathInfo;
    // The module's snapshot from before proxy headers rewrote SCRIPT_NAME (mod_wsgi's meaning).
    std::optional<std::string_view> snapshotScriptName;
    std::optional<std::string_view> snapshotPathInfo;
    for (const auto& [key, value] : request.environ) {
        // HTTPS becomes wsgi.url_scheme and is removed, as mod_wsgi does.
        if (key == "HTTPS") {
            https = httpsIsOn(value);
            continue;
        }
        const std::optional<std::size_t> slot = environNameIndex(key);
        if (slot == kScriptName) {
            scriptName = value;
        } else if (slot == kPathInfo) {
            pathInfo = value;
        } else if (slot == kSnapshotScriptName) {
            snapshotScriptName = value;
        } else if (slot == kSnapshotPathInfo) {
            snapshotPathInfo = value;
        }
        if (!setEntry(d, cache, slot, key, value)) {
            return {};
        }
    }
    const std::string_view processGroup =
        request.processGroup.empty() ? settings.defaultProcessGroup : request.processGroup;
    const bool ok =
        setBorrowed(d, cache, environSlot("wsgi.version"), cache.wsgiVersion()) &&
        setBorrowed(d, cache, environSlot("wsgi.url_scheme"), cache.urlScheme(https)) &&
        setBorrowed(d, cache, environSlot("wsgi.input"), objects.input) &&
        setBorrowed(d, cache, environSlot("wsgi.input_terminated"), Py_True) &&
        setBorrowed(d, cache, environSlot("wsgi.errors"), objects.errors) &&
        setBorrowed(d, cache, environSlot("wsgi.multithread"),
                    settings.multithread ? Py_True : Py_False) &&
        setBorrowed(d, cache, environSlot("wsgi.multiprocess"),
                    settings.multiprocess ? Py_True : Py_False) &&
        setBorrowed(d, cache, environSlot("wsgi.run_once"), Py_False) &&
        setBorrowed(d, cache, environSlot("wsgi.file_wrapper"), objects.fileWrapper) &&
        setBorrowed(d, cache, environSlot("mod_wsgi.version"), cache.modWsgiVersion()) &&
        setBorrowed(d, cache, environSlot("mod_wsgid.version"), cache.ownVersion()) &&
        setValue(d, cache, environSlot("mod_wsgi.process_group"), processGroup) &&
        setValue(d, cache, environSlot("mod_wsgi.application_group"), request.applicationGroup) &&
        setValue(d, cache, environSlot("mod_wsgi.callable_object"), request.callableObject) &&
        setValue(d, cache, environSlot("mod_wsgi.request_id"), request.requestId) &&
        setKnown(d, cache, environSlot("mod_wsgi.daemon_start"), nowMicrosText()) &&
        setValue(d, cache, kSnapshotScriptName, snapshotScriptName.value_or(scriptName)) &&
        setValue(d, cache, kSnapshotPathInfo, snapshotPathInfo.value_or(pathInfo));
    if (!ok) {
        return {};
    }
    return environ;
}

}  // namespace wsgid::python
