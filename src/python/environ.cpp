// SPDX-License-Identifier: Apache-2.0
// Building the environ dict (see environ.h).
#include "python/environ.h"

#include <chrono>
#include <optional>
#include <string>

namespace wsgid::python {

namespace {

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

// mod_wsgi.version as apps see it. Apps and libraries test `'mod_wsgi.version' in environ` to
// detect Apache, and compare the tuple to gate features. We implement mod_wsgi's request-level
// environ behaviour (4.x/5.x), not 6.0's new mod_wsgi module API (subscribe_events, ...), so we
// claim 5.0.0 rather than a 6.x they would then try to use. Our own version is under
// 'mod_wsgid.version'.
constexpr long kModWsgiCompatVersion[] = {5, 0, 0};

// CGI variables whose values are file system paths: decoded with the file system encoding (as
// mod_wsgi does) so open(environ['SCRIPT_FILENAME']) works for non-ASCII paths; every other
// value is latin-1 (PEP 3333 "native strings").
bool isPathVariable(std::string_view key) {
    return key == "SCRIPT_FILENAME" || key == "DOCUMENT_ROOT";
}

bool setItem(PyObject* dict, const char* key, PyRef value) {
    return value && PyDict_SetItemString(dict, key, value.get()) == 0;
}

bool setBorrowed(PyObject* dict, const char* key, PyObject* value) {
    return PyDict_SetItemString(dict, key, value) == 0;
}

PyRef latin1(std::string_view bytes) {
    return PyRef::steal(
        PyUnicode_DecodeLatin1(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), nullptr));
}

PyRef versionTuple(const long (&parts)[3]) {
    return PyRef::steal(Py_BuildValue("(lll)", parts[0], parts[1], parts[2]));
}

// PACKAGE_VERSION "0.1.0" as (0, 1, 0).
PyRef ownVersion() {
    long parts[3] = {0, 0, 0};
    std::string_view text = PACKAGE_VERSION;
    for (long& part : parts) {
        while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
            part = part * 10 + (text.front() - '0');
            text.remove_prefix(1);
        }
        if (!text.empty()) {
            text.remove_prefix(1);  // the '.'
        }
    }
    return versionTuple(parts);
}

// Microseconds since the epoch, as mod_wsgi's *_start environ values.
long long nowMicros() noexcept {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
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
                   const EnvironObjects& objects) {
    PyRef environ = PyRef::steal(PyDict_New());
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
        if (key == "SCRIPT_NAME") {
            scriptName = value;
        } else if (key == "PATH_INFO") {
            pathInfo = value;
        } else if (key == "mod_wsgi.script_name") {
            snapshotScriptName = value;
        } else if (key == "mod_wsgi.path_info") {
            snapshotPathInfo = value;
        }
        PyRef k = latin1(key);
        PyRef v = isPathVariable(key) ? PyRef::steal(PyUnicode_DecodeFSDefaultAndSize(
                                            value.data(), static_cast<Py_ssize_t>(value.size())))
                                      : latin1(value);
        if (!k || !v || PyDict_SetItem(d, k.get(), v.get()) != 0) {
            return {};
        }
    }
    const std::string_view processGroup =
        request.processGroup.empty() ? settings.defaultProcessGroup : request.processGroup;
    const bool ok =
        setItem(d, "wsgi.version", PyRef::steal(Py_BuildValue("(ii)", 1, 0))) &&
        setItem(d, "wsgi.url_scheme",
                PyRef::steal(PyUnicode_FromString(https ? "https" : "http"))) &&
        setBorrowed(d, "wsgi.input", objects.input) &&
        setBorrowed(d, "wsgi.input_terminated", Py_True) &&
        setBorrowed(d, "wsgi.errors", objects.errors) &&
        setBorrowed(d, "wsgi.multithread", settings.multithread ? Py_True : Py_False) &&
        setBorrowed(d, "wsgi.multiprocess", settings.multiprocess ? Py_True : Py_False) &&
        setBorrowed(d, "wsgi.run_once", Py_False) &&
        setBorrowed(d, "wsgi.file_wrapper", objects.fileWrapper) &&
        setItem(d, "mod_wsgi.version", versionTuple(kModWsgiCompatVersion)) &&
        setItem(d, "mod_wsgid.version", ownVersion()) &&
        setItem(d, "mod_wsgi.process_group", latin1(processGroup)) &&
        setItem(d, "mod_wsgi.application_group", latin1(request.applicationGroup)) &&
        setItem(d, "mod_wsgi.callable_object", latin1(request.callableObject)) &&
        setItem(d, "mod_wsgi.request_id", latin1(request.requestId)) &&
        setItem(d, "mod_wsgi.daemon_start", latin1(std::to_string(nowMicros()))) &&
        setItem(d, "mod_wsgi.script_name", latin1(snapshotScriptName.value_or(scriptName))) &&
        setItem(d, "mod_wsgi.path_info", latin1(snapshotPathInfo.value_or(pathInfo)));
    if (!ok) {
        return {};
    }
    return environ;
}

}  // namespace wsgid::python
