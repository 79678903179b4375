// SPDX-License-Identifier: Apache-2.0
// Interpreter: one CPython interpreter (the main one or a sub-interpreter of an application
// group) with what its requests need: the WSGI types, sys.path/stdout/stderr set-up and the
// script cache. Also Python's process-wide start-up (isolated PyConfig).
#pragma once

#include "python/python.h"

#include <memory>
#include <string>

#include "common/log_sink.h"
#include "common/status.h"
#include "python/mod_wsgi_module.h"
#include "python/runtime.h"
#include "python/script_loader.h"
#include "python/wsgi_call.h"

namespace wsgid::python {

/// PyConfig values derived from python-home / WSGIPythonHome.
struct HomeSettings {
    std::string home;         ///< PyConfig.home ("" = leave unset)
    std::string programName;  ///< PyConfig.program_name
};

/// Checks `pythonHome` (may be "") and derives the PyConfig settings: a plain prefix must hold
/// lib/pythonX.Y/encodings; a virtualenv (pyvenv.cfg) must be one for this X.Y and is entered
/// through its bin/python, as mod_wsgi does. The error says what to change. Pure file checks;
/// any thread, no GIL.
common::Result<HomeSettings> resolvePythonHome(const std::string& pythonHome);

/// One interpreter and its per-interpreter objects. Created and used only by Runtime.
/// Thread rules: members touching Python run with the GIL held and this interpreter current.
class Interpreter {
public:
    /// Initializes Python (PyConfig_InitIsolatedConfig, no signal handlers, site on) and sets up
    /// the main interpreter. Call once per process. On success returns with the GIL held and
    /// the main thread state current on the calling thread; on failure Python may be half
    /// initialized and the process should exit. `log` must outlive Python.
    static common::Result<std::unique_ptr<Interpreter>> initializeMain(const RuntimeConfig& config,
                                                                       common::LogSink& log);

    /// Creates and sets up the sub-interpreter of application group `group`. Precondition: the
    /// GIL is held (any interpreter current); the same thread state is current again on return.
    /// The interpreter's first thread state stays with it as an anchor (see anchor_).
    static common::Result<std::unique_ptr<Interpreter>> createSub(const std::string& group,
                                                                  const RuntimeConfig& config,
                                                                  common::LogSink& log);

    ~Interpreter();
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;
    Interpreter(Interpreter&&) = delete;
    Interpreter& operator=(Interpreter&&) = delete;

    /// The CPython interpreter; lives until shutdown. Any thread.
    [[nodiscard]] PyInterpreterState* state() const noexcept { return state_; }
    /// The application group ("" = the main interpreter). Any thread.
    [[nodiscard]] const std::string& group() const noexcept { return group_; }
    /// Whether this is the main interpreter (%{GLOBAL}). Any thread.
    [[nodiscard]] bool isMain() const noexcept { return group_.empty(); }
    /// The WSGI types of this interpreter; use with its GIL.
    [[nodiscard]] WsgiTypes& types() noexcept { return types_; }
    /// The script cache of this interpreter; use with its GIL.
    [[nodiscard]] ScriptLoader& scripts() noexcept { return scripts_; }
    /// The mod_wsgi module of this interpreter; use with its GIL.
    [[nodiscard]] ModWsgiModule& modWsgi() noexcept { return modWsgi_; }

    /// Drops every Python reference held here (GIL held, this interpreter current).
    void clearObjects() noexcept;
    /// Writes out what sys.stdout and sys.stderr still hold (GIL held, this interpreter current).
    void flushStreams() noexcept;

    /// Ends this sub-interpreter: drops the anchor, waits for its non-daemon threads and runs its
    /// atexit, then Py_EndInterpreter. Precondition: GIL held and `own` (a thread state of this
    /// interpreter made by the calling thread) current. Returns true with no thread state current
    /// afterwards; false (leaving `own` current and the interpreter alive) when other threads
    /// still have thread states in it, which Py_EndInterpreter would abort on.
    bool end(PyThreadState* own) noexcept;

private:
    Interpreter(PyInterpreterState* state, std::string group, common::LogSink& log,
                bool caseSensitive);

    PyInterpreterState* state_;
    // Sub-interpreters only: the thread state Py_NewInterpreter made, never current again. It
    // keeps the interpreter's thread list non-empty while workers come and go: CPython 3.11
    // re-uses the interpreter's built-in first thread state when the list runs empty, and
    // PyThreadState_New then aborts with "thread state already initialized".
    PyThreadState* anchor_ = nullptr;
    std::string group_;
    WsgiTypes types_;
    PyRef stdout_;  // our sys.stdout and sys.stderr, drained at shutdown
    PyRef stderr_;
    ScriptLoader scripts_;
    ModWsgiModule modWsgi_;
};

}  // namespace wsgid::python
