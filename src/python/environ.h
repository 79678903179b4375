// SPDX-License-Identifier: Apache-2.0
// The PEP 3333 environ dict of one request: the CGI variables from WsgiRequest plus the wsgi.*
// and mod_wsgi.* keys, with the keys and constant values of the interpreter's EnvironCache.
// Python objects only; call with the GIL held.
#pragma once

#include "python/python.h"

#include <string_view>

#include "python/environ_cache.h"
#include "python/py_ref.h"
#include "python/request_io.h"

namespace wsgid::python {

/// Per-process facts that go into every environ.
struct EnvironSettings {
    bool multithread = false;              ///< wsgi.multithread
    bool multiprocess = false;             ///< wsgi.multiprocess
    std::string_view defaultProcessGroup;  ///< mod_wsgi.process_group when the request has none
};

/// The per-request objects the environ refers to (borrowed; the dict takes its own references).
struct EnvironObjects {
    PyObject* input = nullptr;        ///< wsgi.input
    PyObject* errors = nullptr;       ///< wsgi.errors
    PyObject* fileWrapper = nullptr;  ///< wsgi.file_wrapper (the type)
};

/// Whether a CGI HTTPS value means TLS: "on" or "1", in any case (what mod_ssl and proxies set).
bool httpsIsOn(std::string_view value) noexcept;

/// Builds the environ dict, its keys in the order of request.environ, then the wsgi.* and
/// mod_wsgi.* ones. `cache` is that of the current interpreter. Empty PyRef with a Python
/// exception set on failure. GIL held.
PyRef buildEnviron(const WsgiRequest& request, const EnvironSettings& settings,
                   const EnvironObjects& objects, EnvironCache& cache);

}  // namespace wsgid::python
