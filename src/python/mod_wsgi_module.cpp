// SPDX-License-Identifier: Apache-2.0
// The `mod_wsgi` module of an interpreter (see mod_wsgi_module.h). Written in Python: its work is
// dict and list handling that only runs when an app uses it; the C++ side only calls its hooks.
#include "python/mod_wsgi_module.h"

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
import sys as _sys
import time as _time
import traceback as _traceback

event_callbacks = []
shutdown_callbacks = []
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


def request_data():
    """The dict of the request the calling thread serves (shared with that request's events)."""
    data = _current.get()
    if data is None:
        raise RuntimeError('mod_wsgi.request_data() called outside of a request')
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
    eventCallbacks_ = get("event_callbacks");
    if (!begin_ || !responseStarted_ || !exception_ || !finish_ || !stopping_ || !eventCallbacks_ ||
        !PyList_Check(eventCallbacks_.get())) {
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
    PyRef result =
        id ? call(begin_, Py_BuildValue("(OOO)", id.get(), environ, application)) : PyRef();
    if (!result || !PyTuple_Check(result.get()) || PyTuple_GET_SIZE(result.get()) != 2) {
        PyErr_Clear();
        return {PyRef::borrow(application), PyRef()};
    }
    return {PyRef::borrow(PyTuple_GET_ITEM(result.get(), 0)),
            PyRef::borrow(PyTuple_GET_ITEM(result.get(), 1))};
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
    if (!request.state) {
        return;
    }
    PyRef id = text(requestId);
    if (id) {
        (void)call(finish_, Py_BuildValue("(OOi)", id.get(), request.state.get(), status));
    }
    PyErr_Clear();
}

void ModWsgiModule::processStopping(std::string_view reason) {
    PyRef why = text(reason);
    if (why) {
        (void)call(stopping_, Py_BuildValue("(O)", why.get()));
    }
    PyErr_Clear();
}

void ModWsgiModule::clear() noexcept {
    begin_.reset();
    responseStarted_.reset();
    exception_.reset();
    finish_.reset();
    stopping_.reset();
    eventCallbacks_.reset();
}

void ModWsgiModule::abandon() noexcept {
    for (PyRef* ref :
         {&begin_, &responseStarted_, &exception_, &finish_, &stopping_, &eventCallbacks_}) {
        (void)ref->release();
    }
}

}  // namespace wsgid::python
