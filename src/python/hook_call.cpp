// SPDX-License-Identifier: Apache-2.0
// Hook calls: authentication and dispatch scripts (see hook_call.h).
#include "python/hook_call.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/hook_result.h"
#include "python/environ.h"
#include "python/error_stream.h"
#include "python/input_stream.h"
#include "python/py_error.h"
#include "python/request_gate.h"

namespace wsgid::python {

namespace {

using common::HookResult;

constexpr std::string_view kIdHookFailed = "WG0350";
constexpr std::string_view kIdHookAnswer = "WG0351";
constexpr std::string_view kIdHookErrors = "WG0310";  // wsgi.errors of the hook, as for apps

std::string_view environValue(const WsgiRequest& request, std::string_view key) {
    for (const auto& [k, v] : request.environ) {
        if (k == key) {
            return v;
        }
    }
    return {};
}

PyRef latin1(std::string_view s) {
    return PyRef::steal(
        PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}

/// A str or bytes as latin-1 bytes that can travel in a HookResult; nullopt otherwise.
std::optional<std::string> hookText(PyObject* obj) {
    PyRef bytes;
    if (PyUnicode_Check(obj) != 0) {
        bytes = PyRef::steal(PyUnicode_AsLatin1String(obj));
        if (!bytes) {
            PyErr_Clear();
            return std::nullopt;
        }
        obj = bytes.get();
    }
    if (PyBytes_Check(obj) == 0) {
        return std::nullopt;
    }
    std::string text(PyBytes_AS_STRING(obj), static_cast<std::size_t>(PyBytes_GET_SIZE(obj)));
    if (!common::isHookText(text)) {
        return std::nullopt;
    }
    return text;
}

/// The HookResult for what `hook` returned, or a description of why it is not an answer.
std::optional<HookResult> interpret(std::string_view hook, PyObject* result, std::string& why) {
    const bool yesNo = hook == common::kAllowAccess || hook == common::kCheckPassword;
    if (result == Py_None && hook != common::kGroupsForUser) {
        return HookResult{HookResult::Kind::None, {}, {}, {}};
    }
    if (yesNo && PyBool_Check(result) != 0) {
        return HookResult{
            result == Py_True ? HookResult::Kind::Allow : HookResult::Kind::Deny, {}, {}, {}};
    }
    if (hook == common::kCheckPassword || hook == common::kGetRealmHash) {
        if (std::optional<std::string> text = hookText(result); text && !text->empty()) {
            return HookResult{
                hook == common::kCheckPassword ? HookResult::Kind::User : HookResult::Kind::Hash,
                std::move(*text),
                {},
                {}};
        }
        why = hook == common::kCheckPassword
                  ? "expected True, False, None or a user name (str)"
                  : "expected None or the hex digest of 'user:realm:password' (str)";
        return std::nullopt;
    }
    if (hook == common::kGroupsForUser) {
        HookResult groups{HookResult::Kind::Groups, {}, {}, {}};
        if (result == Py_None) {
            return groups;
        }
        PyRef iterator = PyRef::steal(PyObject_GetIter(result));
        if (!iterator) {
            PyErr_Clear();
            why = "expected an iterable of group names";
            return std::nullopt;
        }
        while (PyRef item = PyRef::steal(PyIter_Next(iterator.get()))) {
            std::optional<std::string> name = hookText(item.get());
            if (!name) {
                why = "a group name is no latin-1 str or bytes without line breaks";
                return std::nullopt;
            }
            groups.groups.push_back(std::move(*name));
        }
        if (PyErr_Occurred() != nullptr) {
            return std::nullopt;  // the iteration raised: reported as an exception
        }
        return groups;
    }
    why = "expected True, False or None";
    return std::nullopt;
}

/// The call's arguments after the environ, per hook.
PyRef argumentsFor(std::string_view hook, const WsgiRequest& request, PyObject* environ) {
    const auto arg = [&](std::string_view key) { return latin1(environValue(request, key)); };
    if (hook == common::kAllowAccess) {
        PyRef host = arg(common::kHookHostKey);
        return host ? PyRef::steal(PyTuple_Pack(2, environ, host.get())) : PyRef();
    }
    PyRef user = arg(common::kHookUserKey);
    if (!user) {
        return {};
    }
    if (hook == common::kGroupsForUser) {
        return PyRef::steal(PyTuple_Pack(2, environ, user.get()));
    }
    PyRef second =
        arg(hook == common::kCheckPassword ? common::kHookPasswordKey : common::kHookRealmKey);
    return second ? PyRef::steal(PyTuple_Pack(3, environ, user.get(), second.get())) : PyRef();
}

/// Removes the hook's own keys (the password among them) from the environ the function sees.
bool dropHookKeys(PyObject* environ) {
    for (const std::string_view key :
         {common::kHookKey, common::kHookUserKey, common::kHookPasswordKey, common::kHookRealmKey,
          common::kHookHostKey, common::kHookApplicationGroupKey, common::kHookCallableObjectKey}) {
        PyRef k = latin1(key);
        if (!k ||
            (PyDict_Contains(environ, k.get()) == 1 && PyDict_DelItem(environ, k.get()) != 0)) {
            return false;
        }
    }
    return true;
}

/// What calling a hook gave: an answer, or why not (`raised`: a Python exception is pending).
struct HookAnswer {
    std::optional<HookResult> answer;
    bool raised = false;
    std::string why;  ///< for an answer of the wrong type: what was returned and expected
};

/// An authentication hook: `function` called with the environ and the hook's arguments.
HookAnswer callAuthHook(PyObject* function, std::string_view hook, const WsgiRequest& request,
                        PyObject* environ) {
    HookAnswer out;
    PyRef args = argumentsFor(hook, request, environ);
    PyRef result = args ? PyRef::steal(PyObject_CallObject(function, args.get())) : PyRef();
    std::string why;
    if (result) {
        out.answer = interpret(hook, result.get(), why);
    }
    if (!out.answer && (!result || PyErr_Occurred() != nullptr)) {
        out.raised = true;  // the call raised, or interpreting its answer did
    } else if (!out.answer) {
        out.why = std::string("returned a '") + Py_TYPE(result.get())->tp_name + "': " + why;
    }
    return out;
}

/// Shows the dispatch functions the request's own routing, as its app would see it.
bool showRequestRouting(const WsgiRequest& request, PyObject* environ) {
    const std::pair<std::string_view, const char*> shown[] = {
        {common::kHookApplicationGroupKey, "mod_wsgi.application_group"},
        {common::kHookCallableObjectKey, "mod_wsgi.callable_object"},
    };
    for (const auto& [hookKey, environKey] : shown) {
        PyRef value = latin1(environValue(request, hookKey));
        if (!value || PyDict_SetItemString(environ, environKey, value.get()) != 0) {
            return false;
        }
    }
    return true;
}

/// WSGIDispatchScript: each of process_group, application_group and callable_object that
/// `module` defines, called with the environ; a str (or latin-1 bytes) answer overrides that
/// part of the routing, None leaves it.
HookAnswer callDispatch(PyObject* module, PyObject* environ) {
    using Field = std::optional<std::string> common::DispatchAnswer::*;
    const std::pair<std::string_view, Field> functions[] = {
        {common::kProcessGroupFunction, &common::DispatchAnswer::processGroup},
        {common::kApplicationGroupFunction, &common::DispatchAnswer::applicationGroup},
        {common::kCallableObjectFunction, &common::DispatchAnswer::callableObject},
    };
    HookAnswer out;
    HookResult result{HookResult::Kind::Dispatch, {}, {}, {}};
    for (const auto& [name, field] : functions) {
        const std::string fname(name);
        if (PyObject_HasAttrString(module, fname.c_str()) == 0) {
            continue;  // mod_wsgi: every function is optional
        }
        PyRef function = PyRef::steal(PyObject_GetAttrString(module, fname.c_str()));
        PyRef answer =
            function ? PyRef::steal(PyObject_CallFunctionObjArgs(function.get(), environ, nullptr))
                     : PyRef();
        if (!answer) {
            out.raised = true;
            return out;
        }
        if (answer.get() == Py_None) {
            continue;
        }
        std::optional<std::string> text = hookText(answer.get());
        if (!text) {
            out.why = fname + "() returned a '" + Py_TYPE(answer.get())->tp_name +
                      "': expected None or a str (latin-1, without line breaks)";
            return out;
        }
        result.dispatch.*field = std::move(*text);
    }
    out.answer = std::move(result);
    return out;
}

}  // namespace

bool isHookCall(const WsgiRequest& request) noexcept {
    return !environValue(request, common::kHookKey).empty();
}

bool isDispatchCall(const WsgiRequest& request) noexcept {
    return environValue(request, common::kHookKey) == common::kDispatch;
}

CallOutcome runHookCall(PyObject* function, const WsgiRequest& request, RequestIo& io,
                        const CallContext& context) {
    const std::string_view hook = environValue(request, common::kHookKey);
    const std::string what = std::string(hook) + " of " + request.scriptFilename;
    RequestGate gate(io);
    PyRef input = newInputStream(context.types.inputStream.get(), gate, 0);
    PyRef errors;
    PyRef environ;
    if (input) {
        errors = newErrorStream(context.types.errorStream.get(),
                                {&context.log, kIdHookErrors, request.requestId, -1});
    }
    if (errors) {
        environ = buildEnviron(request, context.environ,
                               {input.get(), errors.get(), context.types.fileWrapper.get()},
                               context.types.environ);
    }
    const bool dispatch = hook == common::kDispatch;
    HookAnswer called{.answer = std::nullopt, .raised = true, .why = {}};
    if (environ && (!dispatch || showRequestRouting(request, environ.get())) &&
        dropHookKeys(environ.get())) {
        called = dispatch ? callDispatch(function, environ.get())
                          : callAuthHook(function, hook, request, environ.get());
    }
    CallOutcome outcome{CallOutcome::Kind::Completed, false, {}};
    std::optional<HookResult>& answer = called.answer;
    if (called.raised) {
        PyErrorInfo error = fetchError();
        outcome = {CallOutcome::Kind::AppError, false, describeError(error)};
        logError(
            context.log, kIdHookFailed,
            "exception in " + what + " (request " + request.requestId + "): " + outcome.message,
            error);
    } else if (!answer) {
        outcome = {CallOutcome::Kind::AppError, false, what + (dispatch ? ": " : " ") + called.why};
        logLinesWithoutGil(context.log, common::LogLevel::Error, kIdHookAnswer,
                           {outcome.message + " (request " + request.requestId + ")"});
    }
    environ.reset();
    if (answer) {
        const std::string body = common::encodeHookResult(*answer);
        if (const RequestGate::Pass pass = gate.enter()) {
            const common::Status sent = pass.withoutGil([&](RequestIo& requestIo) {
                common::Status s = requestIo.writeStart("200 OK", {});
                return s.isOk() ? requestIo.writeBody(body) : s;
            });
            outcome = sent.isOk()
                          ? CallOutcome{CallOutcome::Kind::Completed, true, {}}
                          : CallOutcome{CallOutcome::Kind::ClientGone, false, sent.message()};
        }
    }
    if (input) {
        detachInputStream(input.get());
    }
    (void)gate.close(context.inFlightGrace, context.log, request.scriptFilename, request.requestId);
    if (errors) {
        drainErrorStream(errors.get());
    }
    return outcome;
}

}  // namespace wsgid::python
