// SPDX-License-Identifier: Apache-2.0
// mod_wsgi._native (see metrics_native.h): the dicts of mod_wsgi's metrics functions.
#include "python/metrics_native.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

namespace wsgid::python {

namespace {

constexpr const char* kCapsuleName = "mod_wsgi._native";

/// d[key] = value, consuming the reference to `value`; false on failure.
bool put(PyObject* d, const char* key, PyObject* value) {
    if (value == nullptr) {
        return false;
    }
    const int rc = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc == 0;
}

PyObject* optionalNumber(const std::optional<std::int64_t>& v) {
    return v ? PyLong_FromLongLong(*v) : Py_NewRef(Py_None);
}

PyObject* optionalSeconds(const std::optional<double>& v) {
    return PyFloat_FromDouble(v.value_or(0.0));
}

template <typename Range, typename Make>
PyObject* listOf(const Range& values, Make make) {
    PyRef list = PyRef::steal(PyList_New(0));
    for (const auto& v : values) {
        PyRef item = PyRef::steal(make(v));
        if (!list || !item || PyList_Append(list.get(), item.get()) != 0) {
            return nullptr;
        }
    }
    return list.release();
}

PyObject* floats(const std::vector<double>& v) {
    return listOf(v, [](double x) { return PyFloat_FromDouble(x); });
}

template <typename Range>
PyObject* counts(const Range& v) {
    return listOf(v, [](std::uint64_t x) { return PyLong_FromUnsignedLongLong(x); });
}

PyObject* processDict(const MetricsSource& src) {
    const ProcessView v = src.metrics->process(ProcessMetrics::Steady::now());
    PyRef d = PyRef::steal(PyDict_New());
    PyObject* threads = listOf(v.threads, [](const WorkerThreadView& t) -> PyObject* {
        return Py_BuildValue("{s:i,s:K}", "thread_id", t.threadId, "request_count",
                             static_cast<unsigned long long>(t.requestCount));
    });
    if (!d || !put(d.get(), "request_count", PyLong_FromUnsignedLongLong(v.requestCount)) ||
        !put(d.get(), "request_busy_time", PyFloat_FromDouble(v.requestBusyTime)) ||
        !put(d.get(), "active_requests", PyLong_FromLong(v.activeRequests)) ||
        !put(d.get(), "request_threads", PyLong_FromSize_t(v.threads.size())) ||
        !put(d.get(), "restart_time", PyFloat_FromDouble(src.metrics->startedWall())) ||
        !put(d.get(), "threads", threads)) {
        return nullptr;
    }
    return d.release();
}

PyObject* requestDict(const MetricsSource& src) {
    const std::optional<RequestWindow> w =
        src.metrics->drain(ProcessMetrics::Steady::now(), wallClockSeconds());
    if (!w) {
        Py_RETURN_NONE;
    }
    const double period = w->stopTime - w->startTime;
    const int maximum = static_cast<int>(w->completed.size());
    const double busy = std::accumulate(w->busyTime.begin(), w->busyTime.end(), 0.0);
    const auto count = static_cast<double>(w->requestCount);
    PyRef d = PyRef::steal(PyDict_New());
    if (!d || !put(d.get(), "start_time", PyFloat_FromDouble(w->startTime)) ||
        !put(d.get(), "stop_time", PyFloat_FromDouble(w->stopTime)) ||
        !put(d.get(), "sample_period", PyFloat_FromDouble(period)) ||
        !put(d.get(), "request_count", PyLong_FromUnsignedLongLong(w->requestCount)) ||
        !put(d.get(), "request_throughput", PyFloat_FromDouble(period > 0 ? count / period : 0)) ||
        !put(d.get(), "request_threads_maximum", PyLong_FromLong(maximum)) ||
        !put(d.get(), "request_threads_started", PyLong_FromLong(w->threadsStarted)) ||
        !put(d.get(), "request_threads_active", PyLong_FromLong(w->threadsActive)) ||
        !put(d.get(), "capacity_utilization",
             PyFloat_FromDouble(period > 0 && maximum > 0 ? busy / (period * maximum) : 0)) ||
        !put(d.get(), "request_threads_completed", counts(w->completed)) ||
        !put(d.get(), "request_threads_buckets", counts(w->completed)) ||
        !put(d.get(), "request_threads_busy_time", floats(w->busyTime)) ||
        !put(d.get(), "request_threads_current_elapsed", floats(w->currentElapsed)) ||
        !put(d.get(), "request_threads_max_duration", floats(w->maxDuration)) ||
        !put(d.get(), "application_time",
             PyFloat_FromDouble(count > 0 ? w->application.total / count : 0)) ||
        !put(d.get(), "application_time_min_us", optionalNumber(w->application.minMicros)) ||
        !put(d.get(), "application_time_max_us", optionalNumber(w->application.maxMicros)) ||
        !put(d.get(), "application_time_buckets", counts(w->application.buckets))) {
        return nullptr;
    }
    static constexpr std::array<const char*, 5> kClasses = {
        "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx"};
    for (std::size_t i = 0; i < kClasses.size(); ++i) {
        if (!put(d.get(), kClasses[i], PyLong_FromUnsignedLongLong(w->statusClasses[i]))) {
            return nullptr;
        }
    }
    return d.release();
}

PyObject* workerDict(int threadNum, const WorkerThreadView* t, std::uint32_t generation) {
    const bool active = t != nullptr && t->active;
    const std::optional<double> start = t != nullptr ? t->lastStart : std::nullopt;
    const std::optional<double> stop = t != nullptr ? t->lastStop : std::nullopt;
    return Py_BuildValue(
        "{s:i,s:I,s:s,s:K,s:N,s:N,s:N}", "thread_num", threadNum, "generation",
        static_cast<unsigned int>(generation), "status", active ? "W" : "_", "access_count",
        static_cast<unsigned long long>(t != nullptr ? t->requestCount : 0), "start_time",
        optionalSeconds(start), "stop_time", optionalSeconds(stop), "last_used",
        PyFloat_FromDouble(std::max(start.value_or(0.0), stop.value_or(0.0))));
}

PyObject* serverDict(const MetricsSource& src) {
    if (!src.serverMetrics) {
        Py_RETURN_NONE;
    }
    const ProcessView v = src.metrics->process(ProcessMetrics::Steady::now());
    PyRef workers = PyRef::steal(PyList_New(0));
    for (int i = 0; workers && i < std::max(src.threads, static_cast<int>(v.threads.size())); ++i) {
        const auto it =
            std::find_if(v.threads.begin(), v.threads.end(),
                         [i](const WorkerThreadView& t) { return t.threadId == i + 1; });
        PyRef worker =
            PyRef::steal(workerDict(i, it != v.threads.end() ? &*it : nullptr, src.generation));
        if (!worker || PyList_Append(workers.get(), worker.get()) != 0) {
            return nullptr;
        }
    }
    if (!workers) {
        return nullptr;
    }
    PyRef process =
        PyRef::steal(Py_BuildValue("{s:i,s:I,s:O,s:O}", "process_num", src.processIndex,
                                   "generation", static_cast<unsigned int>(src.generation),
                                   "quiescing", Py_False, "workers", workers.get()));
    PyRef processes = PyRef::steal(PyList_New(0));
    if (!process || !processes || PyList_Append(processes.get(), process.get()) != 0) {
        return nullptr;
    }
    return Py_BuildValue("{s:i,s:i,s:I,s:d,s:O}", "server_limit", src.maximumProcesses,
                         "thread_limit", src.threads, "running_generation",
                         static_cast<unsigned int>(src.generation), "restart_time",
                         src.metrics->startedWall(), "processes", processes.get());
}

PyObject* native(PyObject* self, PyObject* kind) noexcept {
    try {
        const auto* src =
            static_cast<const MetricsSource*>(PyCapsule_GetPointer(self, kCapsuleName));
        const char* k = PyUnicode_Check(kind) != 0 ? PyUnicode_AsUTF8(kind) : nullptr;
        if (src == nullptr || k == nullptr) {
            PyErr_SetString(PyExc_TypeError, "mod_wsgi._native(kind): kind must be a str");
            return nullptr;
        }
        if (std::strcmp(k, "start") == 0) {
            src->metrics->startRecording(ProcessMetrics::Steady::now(), wallClockSeconds());
            Py_RETURN_NONE;
        }
        if (std::strcmp(k, "process") == 0) {
            if (!src->metrics->recording()) {
                Py_RETURN_NONE;
            }
            return processDict(*src);
        }
        if (std::strcmp(k, "request") == 0) {
            return requestDict(*src);
        }
        if (std::strcmp(k, "server") == 0) {
            return serverDict(*src);
        }
        PyErr_Format(PyExc_ValueError, "mod_wsgi._native: unknown kind %s", k);
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_MemoryError, e.what());
    }
    return nullptr;
}

PyMethodDef kNativeDef = {"_native", native, METH_O, "mod_wsgid's request accounting."};

void freeSource(PyObject* capsule) noexcept {
    delete static_cast<MetricsSource*>(PyCapsule_GetPointer(capsule, kCapsuleName));
}

}  // namespace

PyRef metricsNativeFunction(const MetricsSource& source) {
    auto owned = std::make_unique<MetricsSource>(source);
    PyRef capsule = PyRef::steal(PyCapsule_New(owned.get(), kCapsuleName, freeSource));
    if (!capsule) {
        return {};
    }
    (void)owned.release();  // the capsule owns it now
    return PyRef::steal(PyCFunction_New(&kNativeDef, capsule.get()));
}

}  // namespace wsgid::python
