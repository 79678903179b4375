// SPDX-License-Identifier: Apache-2.0
// The New Relic agent bootstrap (see newrelic_agent.h). No httpd headers.
#include "python/python.h"

#include "python/newrelic_agent.h"

#include <atomic>

#include "python/py_error.h"
#include "python/py_ref.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdNoAgent = "WG0343";
constexpr std::string_view kIdAgentFailed = "WG0344";
constexpr std::string_view kIdAgentStarted = "WG0345";

// The missing package is reported once per process, not once per interpreter.
std::atomic<bool> gMissingReported{false};

PyRef text(const std::string& s) {
    return PyRef::steal(
        PyUnicode_DecodeFSDefaultAndSize(s.data(), static_cast<Py_ssize_t>(s.size())));
}

}  // namespace

void startNewRelicAgent(const std::string& configFile, const std::string& environment,
                        common::LogSink& log) noexcept {
    try {
        PyRef agent = PyRef::steal(PyImport_ImportModule("newrelic.agent"));
        if (!agent) {
            PyErrorInfo error = fetchError();
            if (!gMissingReported.exchange(true)) {
                log.log(common::LogLevel::Error, kIdNoAgent,
                        "newrelic-config-file=" + configFile +
                            " is set, but the newrelic package cannot be imported in this daemon "
                            "(" +
                            describeError(error) +
                            "); install it into the group's Python (python-home= or "
                            "python-path=) or remove the option. Serving without the agent");
            }
            return;
        }
        PyRef file = text(configFile);
        PyRef env = environment.empty() ? PyRef::borrow(Py_None) : text(environment);
        PyRef initialize = PyRef::steal(PyObject_GetAttrString(agent.get(), "initialize"));
        PyRef done = file && env && initialize
                         ? PyRef::steal(PyObject_CallFunctionObjArgs(initialize.get(), file.get(),
                                                                     env.get(), nullptr))
                         : PyRef();
        if (!done) {
            PyErrorInfo error = fetchError();
            log.log(common::LogLevel::Error, kIdAgentFailed,
                    "newrelic.agent.initialize('" + configFile + "', " +
                        (environment.empty() ? std::string("None") : "'" + environment + "'") +
                        ") failed: " + describeError(error) + "; serving without the agent");
            return;
        }
        log.log(common::LogLevel::Info, kIdAgentStarted,
                "New Relic agent initialised from " + configFile +
                    (environment.empty() ? std::string() : " (environment " + environment + ")"));
    } catch (...) {
        PyErr_Clear();  // out of memory while logging: the app serves without the agent
    }
}

}  // namespace wsgid::python
