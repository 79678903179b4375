// SPDX-License-Identifier: Apache-2.0
// Python start-up and per-interpreter set-up (see interpreter.h). Long story of the thread and
// GIL model: docs/architecture.md "GIL and thread model".
#include "python/interpreter.h"

#include <cstdlib>
#include <string_view>
#include <utility>

#include <sys/stat.h>

#include "common/interpreter_options.h"
#include "python/error_stream.h"
#include "python/newrelic_agent.h"
#include "python/py_error.h"

#ifndef WSGID_PYTHON_PROGRAM
// Makefile.am passes the configure-time interpreter; without it getpath would search PATH for
// "python3", which may be a different installation than the libpython we link.
#define WSGID_PYTHON_PROGRAM "/usr/bin/python3"
#endif

namespace wsgid::python {

namespace {

constexpr std::string_view kIdStarted = "WG0300";
constexpr std::string_view kIdStdout = "WG0311";
constexpr std::string_view kIdStderr = "WG0312";
constexpr std::string_view kIdSignalIgnored = "WG0313";

// The standard library directory name inside a prefix, for the Python we are built against.
std::string stdlibDir() {
    return "lib/python" + std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
}

bool isDirectory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool isFile(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Runs in every interpreter right after it is created. `paths` and `home` come from the config;
// site.addsitedir() processes .pth files, then the new entries move to the front of sys.path
// (mod_wsgi's python-path semantics); `home` goes first of all. sys.stdout writes to the error
// log, or raises on use (WSGIRestrictStdout On); so does sys.stdin with WSGIRestrictStdin On.
// signal.signal() becomes a logged no-op that returns the handler (WSGIRestrictSignal On, the
// default): apps load and run on worker threads, where the real one raises ValueError, and the
// daemon's C++ main thread owns the signals (DESIGN.md pitfall 3).
constexpr const char* kSetupCode = R"PY(
import sys, site
sys.argv = ['mod_wsgi']
sys.stderr = _wsgid_stderr


class _WsgidRestricted:
    """What sys.stdin or sys.stdout is under WSGIRestrictStdin/WSGIRestrictStdout On."""

    def __init__(self, name, directive):
        self.__dict__['_wsgid_name'] = name
        self.__dict__['_wsgid_directive'] = directive

    def __getattr__(self, attr):
        raise OSError('%s access is restricted (%s On)'
                      % (self.__dict__['_wsgid_name'], self.__dict__['_wsgid_directive']))


sys.stdout = (_WsgidRestricted('sys.stdout', 'WSGIRestrictStdout') if _wsgid_restrict_stdout
              else _wsgid_stdout)
if _wsgid_restrict_stdin:
    sys.stdin = _WsgidRestricted('sys.stdin', 'WSGIRestrictStdin')
if _wsgid_paths:
    _before = list(sys.path)
    for _p in _wsgid_paths:
        site.addsitedir(_p)
    _added = [_p for _p in sys.path if _p not in _before]
    sys.path[:] = _added + [_p for _p in sys.path if _p not in _added]
if _wsgid_home:
    sys.path.insert(0, _wsgid_home)

if _wsgid_switch_interval is not None:
    sys.setswitchinterval(_wsgid_switch_interval)

if _wsgid_restrict_signal:
    import signal
    def _wsgid_ignored_signal(signalnum, handler, _log=_wsgid_signal_log):
        import traceback
        _log.write('signal.signal(%r, ...) ignored: the mod_wsgid daemon owns signals; '
                   'called from:\n' % (signalnum,))
        _log.writelines(traceback.format_stack()[:-1])
        _log.flush()
        return handler
    signal.signal = _wsgid_ignored_signal
)PY";

// Joins an interpreter's non-daemon threads (threading._shutdown) before Py_EndInterpreter.
// threading._shutdown asserts that the thread state which imported threading is still alive
// when that happened on the calling OS thread; with our per-worker thread states it may be gone
// (the shutdown thread's own WorkerScope ended), so a held stand-in lock takes its place.
constexpr const char* kJoinThreadsCode = R"PY(
import sys
threading = sys.modules.get('threading')
if threading is not None:
    main = threading._main_thread
    if main.ident == threading.get_ident() and not main._is_stopped:
        lock = main._tstate_lock
        if lock is None or not lock.locked():
            main._tstate_lock = threading._allocate_lock()
            main._tstate_lock.acquire()
    threading._shutdown()
)PY";

PyRef fsString(const std::string& value) {
    return PyRef::steal(
        PyUnicode_DecodeFSDefaultAndSize(value.data(), static_cast<Py_ssize_t>(value.size())));
}

// The per-interpreter set-up: types, sys.argv, sys.stdout/stderr and sys.path. GIL held with
// the interpreter current. On failure returns the Python error's description.
common::Status setUpInterpreter(const RuntimeConfig& config, const std::string& group,
                                common::LogSink& log, WsgiTypes& types, ModWsgiModule& modWsgi,
                                PyRef& stdoutStream, PyRef& stderrStream) {
    const auto failed = [](const char* what) {
        PyErrorInfo error = fetchError();
        return common::Status(common::ErrorCode::Internal,
                              std::string(what) + ": " + describeError(error));
    };
    if (!types.create()) {
        return failed("creating the WSGI types failed");
    }
    // This interpreter's settings: the group's, then the <WSGIInterpreterOptions> sections that
    // match it.
    common::PythonSettings python = config.python;
    std::vector<std::string> pythonPath = config.pythonPath;
    common::applyInterpreterOptions(config.interpreterOptions, group, python, pythonPath);
    if (config.threads == 0) {
        python.restrictSignal = false;  // as mod_wsgi: a service script installs its own handlers
    }
    PyRef globals = PyRef::steal(PyDict_New());
    PyRef paths = PyRef::steal(PyList_New(0));
    if (!globals || !paths ||
        PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0) {
        return failed("preparing the interpreter set-up failed");
    }
    for (const std::string& path : pythonPath) {
        PyRef item = fsString(path);
        if (!item || PyList_Append(paths.get(), item.get()) != 0) {
            return failed("preparing python-path failed");
        }
    }
    // print() output goes to the error log like wsgi.errors, at Error level (see error_stream).
    // fileno() gives the daemon's own stdout/stderr, which are the error log too, so
    // faulthandler and subprocesses write there.
    PyRef out = newErrorStream(types.errorStream.get(), {&log, kIdStdout, {}, 1});
    PyRef err = newErrorStream(types.errorStream.get(), {&log, kIdStderr, {}, 2});
    PyRef signalLog = newErrorStream(types.errorStream.get(),
                                     {&log, kIdSignalIgnored, {}, 2, common::LogLevel::Warning});
    PyRef home = fsString(config.home);
    PyRef interval = python.switchInterval
                         ? PyRef::steal(PyFloat_FromDouble(*python.switchInterval))
                         : PyRef::borrow(Py_None);
    if (!out || !err || !signalLog || !home || !interval ||
        PyDict_SetItemString(globals.get(), "_wsgid_signal_log", signalLog.get()) ||
        PyDict_SetItemString(globals.get(), "_wsgid_paths", paths.get()) ||
        PyDict_SetItemString(globals.get(), "_wsgid_home", home.get()) ||
        PyDict_SetItemString(globals.get(), "_wsgid_stdout", out.get()) ||
        PyDict_SetItemString(globals.get(), "_wsgid_stderr", err.get()) ||
        PyDict_SetItemString(globals.get(), "_wsgid_restrict_stdin",
                             python.restrictStdin ? Py_True : Py_False) ||
        PyDict_SetItemString(globals.get(), "_wsgid_restrict_stdout",
                             python.restrictStdout ? Py_True : Py_False) ||
        PyDict_SetItemString(globals.get(), "_wsgid_restrict_signal",
                             python.restrictSignal ? Py_True : Py_False) ||
        PyDict_SetItemString(globals.get(), "_wsgid_switch_interval", interval.get())) {
        return failed("preparing the interpreter set-up failed");
    }
    PyRef result =
        PyRef::steal(PyRun_String(kSetupCode, Py_file_input, globals.get(), globals.get()));
    if (!result) {
        return failed("setting up sys.path, sys.stdout, sys.stderr and signal failed");
    }
    stdoutStream = std::move(out);
    stderrStream = std::move(err);
    common::Status made = modWsgi.create({.processGroup = config.processGroup,
                                          .applicationGroup = group,
                                          .maximumProcesses = config.processes,
                                          .threadsPerProcess = config.threads,
                                          .fileWrapper = types.fileWrapper.get(),
                                          .metrics = config.metrics,
                                          .serverMetrics = config.serverMetrics,
                                          .processIndex = config.processIndex,
                                          .generation = config.generation});
    if (made.isOk() && !config.newrelicConfigFile.empty()) {
        // Before any script loads here: the agent must wrap what the app imports.
        startNewRelicAgent(config.newrelicConfigFile, config.newrelicEnvironment, log);
    }
    return made;
}

common::Status fromPyStatus(const PyStatus& status, const std::string& hint) {
    std::string message = "Python initialisation failed";
    if (status.func != nullptr) {
        message += std::string(" in ") + status.func;
    }
    if (status.err_msg != nullptr) {
        message += std::string(": ") + status.err_msg;
    }
    if (PyStatus_IsExit(status)) {
        message += " (exit code " + std::to_string(status.exitcode) + ")";
    }
    return {common::ErrorCode::InvalidArgument, message + hint};
}

// The pre-initialization: the isolated preset, except for two things plain python3 (and
// mod_wsgi) do. (1) The locale: LC_CTYPE comes from the environment, and a C/POSIX locale (httpd
// usually runs with LANG=C) turns on UTF-8 mode (PEP 540). The isolated preset would leave
// file names and open() in ASCII. (2) PYTHONMALLOC is honoured, although the isolated config
// ignores PYTHON* variables otherwise, so valgrind and ASan runs can ask for "malloc".
PyStatus preInitialize() {
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.configure_locale = 1;
    pre.utf8_mode = -1;
    // Runs before Python and before any thread of the daemon exists, so nothing can setenv.
    if (const char* allocator = std::getenv("PYTHONMALLOC")) {  // NOLINT(concurrency-mt-unsafe)
        const std::string_view name = allocator;
        if (name == "malloc") {
            pre.allocator = PYMEM_ALLOCATOR_MALLOC;
        } else if (name == "malloc_debug") {
            pre.allocator = PYMEM_ALLOCATOR_MALLOC_DEBUG;
        } else if (name == "debug") {
            pre.allocator = PYMEM_ALLOCATOR_DEBUG;
        } else if (name == "pymalloc") {
            pre.allocator = PYMEM_ALLOCATOR_PYMALLOC;
        }
    }
    return Py_PreInitialize(&pre);
}

}  // namespace

common::Result<HomeSettings> resolvePythonHome(const std::string& pythonHome) {
    HomeSettings settings;
    settings.programName = WSGID_PYTHON_PROGRAM;
    if (pythonHome.empty()) {
        return settings;
    }
    const std::string hint = "; check python-home=/WSGIPythonHome";
    const std::string version =
        std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
    if (pythonHome.front() != '/') {
        return common::Status(common::ErrorCode::InvalidArgument,
                              "python-home '" + pythonHome + "' is not an absolute path" + hint);
    }
    if (!isDirectory(pythonHome)) {
        return common::Status(common::ErrorCode::InvalidArgument,
                              "python-home '" + pythonHome + "' is not a directory" + hint);
    }
    if (isFile(pythonHome + "/pyvenv.cfg")) {
        // A virtualenv has no standard library of its own: Python finds the base installation
        // through pyvenv.cfg next to the venv's bin/python, so we start "as" that executable.
        if (!isDirectory(pythonHome + "/" + stdlibDir())) {
            return common::Status(common::ErrorCode::InvalidArgument,
                                  "python-home '" + pythonHome + "' is a virtualenv without " +
                                      stdlibDir() +
                                      ": it was made for another Python version, and mod_wsgid "
                                      "embeds Python " +
                                      version + hint);
        }
        settings.programName = pythonHome + "/bin/python";
        return settings;
    }
    if (!isDirectory(pythonHome + "/" + stdlibDir() + "/encodings")) {
        return common::Status(common::ErrorCode::InvalidArgument,
                              "python-home '" + pythonHome + "' does not contain " + stdlibDir() +
                                  "/encodings (the standard library of Python " + version + ")" +
                                  hint);
    }
    settings.home = pythonHome;
    return settings;
}

Interpreter::Interpreter(PyInterpreterState* state, std::string group, common::LogSink& log,
                         bool caseSensitive)
    : state_(state),
      group_(std::move(group)),
      scripts_(log, group_, !group_.empty(), caseSensitive) {}

Interpreter::~Interpreter() {
    // Runtime clears the objects with the GIL before destroying us; if Python was never
    // finalized properly, forgetting them (a leak at exit) beats a DECREF without the GIL.
    types_.abandon();
    scripts_.abandon();
    modWsgi_.abandon();
    (void)stdout_.release();
    (void)stderr_.release();
}

common::Result<std::unique_ptr<Interpreter>> Interpreter::initializeMain(
    const RuntimeConfig& config, common::LogSink& log) {
    if (Py_IsInitialized() != 0) {
        return common::Status(common::ErrorCode::Internal,
                              "Python is already initialised in this process");
    }
    common::Result<HomeSettings> home = resolvePythonHome(config.pythonHome);
    if (!home.isOk()) {
        return home.status();
    }
    const std::string hint =
        config.pythonHome.empty()
            ? std::string()
            : "; check python-home=/WSGIPythonHome (now '" + config.pythonHome + "')";

    PyStatus preStatus = preInitialize();
    if (PyStatus_Exception(preStatus)) {
        return fromPyStatus(preStatus, hint);
    }
    PyConfig pyConfig;
    PyConfig_InitIsolatedConfig(&pyConfig);
    // Isolated: no PYTHON* environment variables, no user site directory. Signals belong to
    // the daemon's C++ main thread (DESIGN.md pitfall 3); site stays on for dist-packages.
    pyConfig.install_signal_handlers = 0;
    pyConfig.site_import = 1;
    pyConfig.parse_argv = 0;
    // WSGIPythonOptimize, WSGIDontWriteBytecode, WSGIPythonHashSeed, WSGIPythonWarnings.
    pyConfig.optimization_level = config.python.optimize;
    pyConfig.write_bytecode = config.python.writeBytecode ? 1 : 0;
    if (config.python.hashSeed) {
        pyConfig.use_hash_seed = 1;
        pyConfig.hash_seed = *config.python.hashSeed;
    }
    // A crash (SIGSEGV in a C extension, say) writes the Python stack of every thread to
    // stderr, the error log, before the process dies; faulthandler then hands the signal on to
    // the handler that was there before (the daemon's status report).
    pyConfig.faulthandler = 1;
    PyStatus status =
        PyConfig_SetBytesString(&pyConfig, &pyConfig.program_name, home->programName.c_str());
    for (const std::string& warning : config.python.warnings) {
        if (PyStatus_Exception(status)) {
            break;
        }
        wchar_t* wide = Py_DecodeLocale(warning.c_str(), nullptr);
        if (wide == nullptr) {
            status = PyStatus_Error("WSGIPythonWarnings: a value cannot be decoded");
            break;
        }
        status = PyWideStringList_Append(&pyConfig.warnoptions, wide);
        PyMem_RawFree(wide);
    }
    if (!PyStatus_Exception(status) && !home->home.empty()) {
        status = PyConfig_SetBytesString(&pyConfig, &pyConfig.home, home->home.c_str());
    }
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&pyConfig);
    }
    PyConfig_Clear(&pyConfig);
    if (PyStatus_Exception(status)) {
        return fromPyStatus(status, hint);
    }

    std::unique_ptr<Interpreter> main(new Interpreter(PyInterpreterState_Main(), std::string(), log,
                                                      config.python.caseSensitive));
    common::Status setUp = setUpInterpreter(config, main->group_, log, main->types_, main->modWsgi_,
                                            main->stdout_, main->stderr_);
    if (!setUp.isOk()) {
        main->clearObjects();
        return common::Status(setUp.code(), "main interpreter: " + setUp.message() + hint);
    }
    log.log(common::LogLevel::Info, kIdStarted,
            std::string("Python ") + Py_GetVersion() + " initialised (program " +
                home->programName + (home->home.empty() ? "" : ", home " + home->home) + ")");
    return main;
}

common::Result<std::unique_ptr<Interpreter>> Interpreter::createSub(const std::string& group,
                                                                    const RuntimeConfig& config,
                                                                    common::LogSink& log) {
    PyThreadState* previous = PyThreadState_Get();
    PyThreadState* created = Py_NewInterpreter();
    if (created == nullptr) {
        return common::Status(common::ErrorCode::Internal,
                              "Py_NewInterpreter failed for application group '" + group + "'");
    }
    std::unique_ptr<Interpreter> sub(new Interpreter(PyThreadState_GetInterpreter(created), group,
                                                     log, config.python.caseSensitive));
    common::Status setUp = setUpInterpreter(config, sub->group_, log, sub->types_, sub->modWsgi_,
                                            sub->stdout_, sub->stderr_);
    if (!setUp.isOk()) {
        sub->clearObjects();
        Py_EndInterpreter(created);
        PyThreadState_Swap(previous);
        return common::Status(setUp.code(),
                              "application group '" + group + "': " + setUp.message());
    }
    sub->anchor_ = created;
    PyThreadState_Swap(previous);
    return sub;
}

void Interpreter::clearObjects() noexcept {
    scripts_.clear();
    types_.clear();
    modWsgi_.clear();
    for (PyRef* stream : {&stdout_, &stderr_}) {
        if (*stream) {
            drainErrorStream(stream->get());
            stream->reset();
        }
    }
}

void Interpreter::flushStreams() noexcept {
    for (const PyRef* stream : {&stdout_, &stderr_}) {
        if (*stream) {
            drainErrorStream(stream->get());
        }
    }
}

bool Interpreter::end(PyThreadState* own) noexcept {
    clearObjects();
    // Join the interpreter's non-daemon threads first (Py_EndInterpreter would do the same),
    // so that only daemon threads can still hold thread states when we count them. Before the
    // anchor goes: threading._shutdown expects the lock of the thread state that imported
    // threading (often the anchor) still held.
    PyRef globals = PyRef::steal(PyDict_New());
    if (globals && PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) == 0) {
        PyRef done = PyRef::steal(
            PyRun_String(kJoinThreadsCode, Py_file_input, globals.get(), globals.get()));
    }
    PyErr_Clear();
    globals.reset();
    if (anchor_ != nullptr) {
        PyThreadState_Clear(anchor_);
        PyThreadState_Delete(anchor_);
        anchor_ = nullptr;
    }
    int threads = 0;
    for (PyThreadState* t = PyInterpreterState_ThreadHead(state_); t != nullptr;
         t = PyThreadState_Next(t)) {
        ++threads;
    }
    if (threads != 1 || PyInterpreterState_ThreadHead(state_) != own) {
        return false;
    }
    Py_EndInterpreter(own);
    return true;
}

}  // namespace wsgid::python
