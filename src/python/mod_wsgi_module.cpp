// SPDX-License-Identifier: Apache-2.0
// The `mod_wsgi` module of an interpreter (see mod_wsgi_module.h). Written in Python: its work is
// dict and list handling that only runs when an app uses it; the C++ side only calls its hooks.
#include "python/mod_wsgi_module.h"

#include <string>
#include <string_view>
#include <utility>

#include "python/metrics_native.h"

namespace wsgid::python {

namespace {

// mod_wsgi's version as the module shows it (the same tuple as environ['mod_wsgi.version'],
// python/environ.cpp); mod_wsgid's own is mod_wsgid.version in the environ.
constexpr long kVersion[] = {5, 0, 0};

// The module body. Subscribers are called as callback(name, **event); one that returns a dict
// adds its keys to the event for the next ones (request_started's application_object replaces
// the app). A subscriber that raises is reported on sys.stderr (the error log) and skipped.
constexpr const char* kModuleSource = R"PY(
import contextvars as _contextvars
import os as _os
import sys as _sys
import time as _time
import traceback as _traceback



class RequestTimeout(BaseException):
    """Raised in a request's thread when it overran request-timeout (with interrupt-timeout).
    A BaseException, so `except Exception` in the app does not swallow it."""


event_callbacks = []
shutdown_callbacks = []
signal_callbacks = []
active_requests = {}
_current = _contextvars.ContextVar('mod_wsgi.request_data', default=None)


def subscribe_events(callback):
    """callback(name, **event) for request_started, response_started, request_exception,
    request_finished and process_stopping. Returns callback, so it works as a decorator."""
    event_callbacks.append(callback)
    return callback


def subscribe_shutdown(callback):
    """callback('process_stopping', shutdown_reason=...) when the daemon process stops.
    Returns callback, so it works as a decorator."""
    shutdown_callbacks.append(callback)
    return callback


def subscribe_signals(callback):
    """callback('process_signal', signal_number=..., signal_name=...) when the daemon process gets
    SIGHUP or SIGUSR2, on a thread of mod_wsgid's own (not a request's). Returns callback, so it
    works as a decorator."""
    signal_callbacks.append(callback)
    return callback


def request_data():
    """The dict of the request the calling thread serves (shared with that request's events)."""
    data = _current.get()
    if data is None:
        raise RuntimeError('mod_wsgi.request_data() called outside of a request')
    return data


# _native(kind) is mod_wsgid's accounting ('start', 'process', 'request', 'server'): a dict, or
# None while it is off. Set when the module is created.
_native = None
_cpu_mark = None


def _cpu():
    times = _os.times()
    return times.user, times.system


def _memory(data):
    try:
        with open('/proc/self/statm', 'rb') as statm:
            data['memory_rss'] = int(statm.read().split()[1]) * _os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        data['memory_rss'] = None
    try:
        import resource
        data['memory_max_rss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (ImportError, OSError):
        data['memory_max_rss'] = None


def start_recording_metrics():
    """Turns on process_metrics() and request_metrics() for the whole process (every
    interpreter's module shares the accounting). Calling it again does nothing."""
    global _cpu_mark
    if _cpu_mark is None:
        _cpu_mark = _cpu()
    _native('start')


def process_metrics():
    """The process since it started (None until start_recording_metrics())."""
    data = _native('process')
    if data is None:
        return None
    now = _time.time()
    data['pid'] = _os.getpid()
    data['current_time'] = now
    data['running_time'] = int(now - data['restart_time'])
    user, system = _cpu()
    data['cpu_user_time'] = user
    data['cpu_system_time'] = system
    data['cpu_time'] = user + system
    _memory(data)
    return data


def request_metrics():
    """The window since the previous call (or start_recording_metrics()), which it drains.
    None until start_recording_metrics(). Call it from one reporter thread, not from requests."""
    global _cpu_mark
    data = _native('request')
    if data is None:
        return None
    data['pid'] = _os.getpid()
    period = data['sample_period']
    user, system = _cpu()
    last_user, last_system = _cpu_mark if _cpu_mark is not None else (user, system)
    _cpu_mark = (user, system)
    rate = (lambda used: used / period if period > 0 else 0.0)
    data['cpu_user_utilization'] = rate(user - last_user)
    data['cpu_system_utilization'] = rate(system - last_system)
    data['cpu_utilization'] = data['cpu_user_utilization'] + data['cpu_system_utilization']
    _memory(data)
    return data


def server_metrics():
    """With server-metrics=On: this daemon process and its worker threads in the shape of
    mod_wsgi's scoreboard view; None otherwise (docs/compatibility.md says why no more)."""
    data = _native('server')
    if data is None:
        return None
    now = _time.time()
    data['current_time'] = now
    data['running_time'] = int(now - data['restart_time'])
    for process in data['processes']:
        process['pid'] = _os.getpid()
    return data


def _seconds(environ, key):
    try:
        return int(environ.get(key, '0')) / 1000000.0
    except (TypeError, ValueError):
        return 0.0


def _publish(callbacks, name, event):
    for callback in list(callbacks):
        try:
            result = callback(name, **event)
        except Exception:
            _sys.stderr.write('mod_wsgi: %s subscriber %r raised:\n' % (name, callback))
            _traceback.print_exc(file=_sys.stderr)
        else:
            if isinstance(result, dict):
                event.update(result)


def _begin(request_id, environ, application):
    data = {}
    token = _current.set(data)
    active_requests[request_id] = data
    start = _time.time()
    if event_callbacks:
        event = {'request_id': request_id, 'request_environ': environ,
                 'application_object': application,
                 'callable_object': environ.get('mod_wsgi.callable_object'),
                 'request_start': _seconds(environ, 'mod_wsgi.request_start'),
                 'queue_start': _seconds(environ, 'mod_wsgi.queue_start'),
                 'daemon_start': _seconds(environ, 'mod_wsgi.daemon_start'),
                 'application_start': start, 'request_data': data}
        _publish(event_callbacks, 'request_started', event)
        application = event.get('application_object', application)
    return application, (token, start)


def _response_started(request_id, status, headers, exc_info):
    _publish(event_callbacks, 'response_started',
             {'request_id': request_id, 'response_status': status,
              'response_headers': headers, 'exception_info': exc_info,
              'request_data': _current.get()})


def _exception(request_id, exc_info):
    _publish(event_callbacks, 'request_exception',
             {'request_id': request_id, 'exception_info': exc_info,
              'request_data': _current.get()})


def _finish(request_id, state, status):
    token, start = state
    try:
        if event_callbacks:
            finish = _time.time()
            _publish(event_callbacks, 'request_finished',
                     {'request_id': request_id, 'status': status,
                      'application_start': start, 'application_finish': finish,
                      'application_time': finish - start,
                      'request_data': active_requests.get(request_id)})
    finally:
        active_requests.pop(request_id, None)
        _current.reset(token)


def _signal(number, name):
    event = {'signal_number': number, 'signal_name': name}
    _publish(signal_callbacks, 'process_signal', dict(event))
    _publish(event_callbacks, 'process_signal', dict(event))


def _stopping(reason):
    _publish(shutdown_callbacks, 'process_stopping', {'shutdown_reason': reason})
    _publish(event_callbacks, 'process_stopping', {'shutdown_reason': reason})
)PY";

PyRef text(std::string_view s) {
    return PyRef::steal(
        PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}

common::Status pythonFailure(const char* what) {
    PyErrorInfo error = fetchError();
    return {common::ErrorCode::Internal, std::string(what) + ": " + describeError(error)};
}

}  // namespace

common::Status ModWsgiModule::create(const ModWsgiFacts& facts) {
    PyRef module = PyRef::steal(PyModule_New("mod_wsgi"));
    if (!module) {
        return pythonFailure("creating the mod_wsgi module failed");
    }
    PyObject* dict = PyModule_GetDict(module.get());
    PyRef version = PyRef::steal(Py_BuildValue("(lll)", kVersion[0], kVersion[1], kVersion[2]));
    PyRef processGroup = text(facts.processGroup);
    PyRef applicationGroup = text(facts.applicationGroup);
    PyRef processes = PyRef::steal(PyLong_FromLong(facts.maximumProcesses));
    PyRef threads = PyRef::steal(PyLong_FromLong(facts.threadsPerProcess));
    if (!version || !processGroup || !applicationGroup || !processes || !threads ||
        PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) != 0 ||
        PyDict_SetItemString(dict, "version", version.get()) != 0 ||
        PyDict_SetItemString(dict, "process_group", processGroup.get()) != 0 ||
        PyDict_SetItemString(dict, "application_group", applicationGroup.get()) != 0 ||
        PyDict_SetItemString(dict, "maximum_processes", processes.get()) != 0 ||
        PyDict_SetItemString(dict, "threads_per_process", threads.get()) != 0 ||
        (facts.fileWrapper != nullptr &&
         PyDict_SetItemString(dict, "FileWrapper", facts.fileWrapper) != 0)) {
        return pythonFailure("setting up the mod_wsgi module failed");
    }
    PyRef ran = PyRef::steal(PyRun_String(kModuleSource, Py_file_input, dict, dict));
    if (!ran) {
        return pythonFailure("running the mod_wsgi module's code failed");
    }
    if (facts.metrics != nullptr) {
        PyRef nativeFn = metricsNativeFunction({.metrics = facts.metrics,
                                                .serverMetrics = facts.serverMetrics,
                                                .processIndex = facts.processIndex,
                                                .generation = facts.generation,
                                                .maximumProcesses = facts.maximumProcesses,
                                                .threads = facts.threadsPerProcess});
        if (!nativeFn || PyDict_SetItemString(dict, "_native", nativeFn.get()) != 0) {
            return pythonFailure("setting up the mod_wsgi module's metrics failed");
        }
    }
    PyObject* modules = PySys_GetObject("modules");  // borrowed
    if (modules == nullptr || PyDict_SetItemString(modules, "mod_wsgi", module.get()) != 0) {
        return pythonFailure("registering the mod_wsgi module failed");
    }
    const auto get = [dict](const char* name) {
        return PyRef::borrow(PyDict_GetItemString(dict, name));
    };
    begin_ = get("_begin");
    responseStarted_ = get("_response_started");
    exception_ = get("_exception");
    finish_ = get("_finish");
    stopping_ = get("_stopping");
    signal_ = get("_signal");
    eventCallbacks_ = get("event_callbacks");
    requestTimeout_ = get("RequestTimeout");
    current_ = get("_current");
    activeRequests_ = get("active_requests");
    if (!requestTimeout_ || !begin_ || !responseStarted_ || !exception_ || !finish_ || !stopping_ ||
        !signal_ || !eventCallbacks_ || !PyList_Check(eventCallbacks_.get()) || !current_ ||
        !PyContextVar_CheckExact(current_.get()) || !activeRequests_ ||
        !PyDict_CheckExact(activeRequests_.get())) {
        clear();
        return {common::ErrorCode::Internal, "the mod_wsgi module lacks its hooks"};
    }
    return common::Status::ok();
}

bool ModWsgiModule::hasSubscribers() const noexcept {
    return eventCallbacks_ && PyList_GET_SIZE(eventCallbacks_.get()) > 0;
}

PyRef ModWsgiModule::call(const PyRef& fn, PyObject* args) noexcept {
    PyRef owned = PyRef::steal(args);
    if (!fn || !owned) {
        PyErr_Clear();
        return {};
    }
    PyRef result = PyRef::steal(PyObject_CallObject(fn.get(), owned.get()));
    if (!result) {
        PyErr_WriteUnraisable(fn.get());
    }
    return result;
}

ModWsgiModule::Request ModWsgiModule::requestStarted(std::string_view requestId, PyObject* environ,
                                                     PyObject* application) {
    PyRef id = text(requestId);
    if (id && !hasSubscribers()) {
        if (Request started = beginHere(PyRef::borrow(id.get()), application); started.state) {
            return started;
        }
    }
    PyRef result =
        id ? call(begin_, Py_BuildValue("(OOO)", id.get(), environ, application)) : PyRef();
    if (!result || !PyTuple_Check(result.get()) || PyTuple_GET_SIZE(result.get()) != 2) {
        PyErr_Clear();
        return {PyRef::borrow(application), PyRef(), PyRef()};
    }
    return {PyRef::borrow(PyTuple_GET_ITEM(result.get(), 0)),
            PyRef::borrow(PyTuple_GET_ITEM(result.get(), 1)), std::move(id)};
}

// What _begin does when no one subscribed: data = {}, token = _current.set(data),
// active_requests[request_id] = data, and the state (token, time.time()) _finish takes.
ModWsgiModule::Request ModWsgiModule::beginHere(PyRef id, PyObject* application) noexcept {
    PyRef data = PyRef::steal(PyDict_New());
    PyRef token = data ? PyRef::steal(PyContextVar_Set(current_.get(), data.get())) : PyRef();
    if (!token) {
        PyErr_Clear();
        return {};
    }
    PyRef start = PyRef::steal(PyFloat_FromDouble(wallClockSeconds()));
    PyRef state = start ? PyRef::steal(PyTuple_Pack(2, token.get(), start.get())) : PyRef();
    if (!state || PyDict_SetItem(activeRequests_.get(), id.get(), data.get()) != 0) {
        PyErr_Clear();
        if (PyContextVar_Reset(current_.get(), token.get()) != 0) {
            PyErr_Clear();
        }
        return {};
    }
    return {PyRef::borrow(application), std::move(state), std::move(id)};
}

void ModWsgiModule::responseStarted(std::string_view requestId, PyObject* status, PyObject* headers,
                                    PyObject* excInfo) {
    if (!hasSubscribers()) {
        return;
    }
    PyRef id = text(requestId);
    if (id) {
        (void)call(responseStarted_, Py_BuildValue("(OOOO)", id.get(), status, headers, excInfo));
    }
    PyErr_Clear();
}

void ModWsgiModule::requestException(std::string_view requestId, const PyErrorInfo& error) {
    if (!hasSubscribers() || !error.present()) {
        return;
    }
    PyRef id = text(requestId);
    PyRef info = PyRef::steal(Py_BuildValue("(OOO)", error.type.get(),
                                            error.value ? error.value.get() : Py_None,
                                            error.traceback ? error.traceback.get() : Py_None));
    if (id && info) {
        (void)call(exception_, Py_BuildValue("(OO)", id.get(), info.get()));
    }
    PyErr_Clear();
}

void ModWsgiModule::requestFinished(std::string_view requestId, const Request& request,
                                    int status) {
    if (!request.state || (!hasSubscribers() && finishHere(request))) {
        return;
    }
    PyRef id = request.id ? PyRef::borrow(request.id.get()) : text(requestId);
    if (id) {
        (void)call(finish_, Py_BuildValue("(OOi)", id.get(), request.state.get(), status));
    }
    PyErr_Clear();
}

// What _finish does when no one subscribed: active_requests.pop(request_id, None), then
// _current.reset(token); a failure is reported as the module's would be.
bool ModWsgiModule::finishHere(const Request& request) noexcept {
    PyObject* state = request.state.get();
    if (!request.id || !PyTuple_CheckExact(state) || PyTuple_GET_SIZE(state) != 2) {
        return false;
    }
    if (PyDict_DelItem(activeRequests_.get(), request.id.get()) != 0) {
        PyErr_Clear();  // not there: pop(request_id, None)
    }
    if (PyContextVar_Reset(current_.get(), PyTuple_GET_ITEM(state, 0)) != 0) {
        PyErr_WriteUnraisable(finish_.get());
    }
    return true;
}

void ModWsgiModule::processStopping(std::string_view reason) {
    PyRef why = text(reason);
    if (why) {
        (void)call(stopping_, Py_BuildValue("(O)", why.get()));
    }
    PyErr_Clear();
}

void ModWsgiModule::processSignal(int signo, std::string_view name) {
    PyRef named = text(name);
    if (named) {
        (void)call(signal_, Py_BuildValue("(iO)", signo, named.get()));
    }
    PyErr_Clear();
}

void ModWsgiModule::clear() noexcept {
    begin_.reset();
    responseStarted_.reset();
    exception_.reset();
    finish_.reset();
    stopping_.reset();
    signal_.reset();
    eventCallbacks_.reset();
    requestTimeout_.reset();
    current_.reset();
    activeRequests_.reset();
}

void ModWsgiModule::abandon() noexcept {
    for (PyRef* ref : {&begin_, &responseStarted_, &exception_, &finish_, &stopping_, &signal_,
                       &eventCallbacks_, &requestTimeout_, &current_, &activeRequests_}) {
        (void)ref->release();
    }
}

}  // namespace wsgid::python
