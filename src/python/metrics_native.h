// SPDX-License-Identifier: Apache-2.0
// mod_wsgi._native: the C function behind the mod_wsgi module's metrics functions
// (process_metrics(), request_metrics(), server_metrics(), start_recording_metrics()). It turns
// the process's accounting (ProcessMetrics) into the dicts mod_wsgi documents; the module's
// Python code (mod_wsgi_module.cpp) only calls it.
#pragma once

#include "python/python.h"

#include <cstdint>

#include "python/process_metrics.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// What _native reads: the process's accounting (which outlives the function) and the group's
/// facts.
struct MetricsSource {
    ProcessMetrics* metrics = nullptr;
    bool serverMetrics = false;
    int processIndex = 0;
    std::uint32_t generation = 0;
    int maximumProcesses = 1;
    int threads = 1;
};

/// A new `_native(kind)` function bound to `source`; null with a Python error set on failure.
/// Call with the GIL held.
PyRef metricsNativeFunction(const MetricsSource& source);

}  // namespace wsgid::python
