// SPDX-License-Identifier: Apache-2.0
// Loading WSGI script files as modules (see script_loader.h). A reload executes the file in a
// fresh module object; requests still running keep the old one alive through their references.
#include "python/script_loader.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ascii.h"
#include "common/duration_text.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "python/gil.h"
#include "python/load_tracker.h"
#include "python/py_error.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdLoadFailed = "WG0320";
constexpr std::string_view kIdScriptMissing = "WG0321";
constexpr std::string_view kIdNoCallable = "WG0322";
constexpr std::string_view kIdReloaded = "WG0323";
constexpr std::string_view kIdLoadWait = "WG0324";
constexpr std::string_view kIdSubInterpreterHint = "WG0307";
constexpr std::string_view kIdScriptExited = "WG0325";

// How long a request waits for another thread's load of a script in the same interpreter.
// Importing a large app (Django with its ORM and URLconf) takes seconds; one stuck for this long
// is hung, and the waiting worker fails its request instead of parking forever.
constexpr auto kLoadWait = std::chrono::seconds(120);

// Bytes read per read() call of a script file.
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

bool sameTime(const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Reads the whole file and its mtime (from fstat of the same open file, so they match).
common::Status readScript(const std::string& path, std::string& source, timespec& mtime) {
    common::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return {common::ErrorCode::NotFound,
                "cannot open " + path + ": " + common::errnoText(errno)};
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return {common::ErrorCode::IoError,
                "cannot stat " + path + ": " + common::errnoText(errno)};
    }
    if (!S_ISREG(st.st_mode)) {
        return {common::ErrorCode::InvalidArgument, path + " is not a regular file"};
    }
    mtime = st.st_mtim;
    source.clear();
    std::vector<char> chunk(kReadChunk);
    for (;;) {
        const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
        if (n > 0) {
            source.append(chunk.data(), static_cast<std::size_t>(n));
        } else if (n == 0) {
            return common::Status::ok();
        } else if (errno != EINTR) {
            return {common::ErrorCode::IoError,
                    "cannot read " + path + ": " + common::errnoText(errno)};
        }
    }
}

// Executes `source` of the file `path` as a new module registered in sys.modules under the name
// scriptModuleName(key). Empty PyRef with the Python exception pending on failure; sys.modules
// then holds what it held before.
PyRef execModule(const std::string& path, const std::string& key, const std::string& source,
                 const timespec& mtime) {
    const std::string name = scriptModuleName(key);
    PyRef filename = PyRef::steal(
        PyUnicode_DecodeFSDefaultAndSize(path.data(), static_cast<Py_ssize_t>(path.size())));
    PyRef bytes = PyRef::steal(
        PyBytes_FromStringAndSize(source.data(), static_cast<Py_ssize_t>(source.size())));
    if (!filename || !bytes) {
        return {};
    }
    // builtins.compile() on bytes honours a PEP 263 coding line and rejects NUL bytes.
    PyObject* compile = PyDict_GetItemString(PyEval_GetBuiltins(), "compile");
    if (compile == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, "builtins.compile is missing");
        return {};
    }
    PyRef code = PyRef::steal(
        PyObject_CallFunction(compile, "OOsii", bytes.get(), filename.get(), "exec", 0, 1));
    if (!code) {
        return {};
    }
    PyRef module = PyRef::steal(PyModule_New(name.c_str()));
    if (!module) {
        return {};
    }
    PyObject* dict = PyModule_GetDict(module.get());
    PyRef mtimeValue = PyRef::steal(PyFloat_FromDouble(static_cast<double>(mtime.tv_sec) +
                                                       static_cast<double>(mtime.tv_nsec) / 1e9));
    if (!mtimeValue || PyDict_SetItemString(dict, "__file__", filename.get()) != 0 ||
        PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) != 0 ||
        PyDict_SetItemString(dict, "__mtime__", mtimeValue.get()) != 0) {
        return {};
    }
    PyObject* modules = PyImport_GetModuleDict();
    PyRef previous = PyRef::borrow(PyDict_GetItemString(modules, name.c_str()));
    if (PyDict_SetItemString(modules, name.c_str(), module.get()) != 0) {
        return {};
    }
    PyRef result = PyRef::steal(PyEval_EvalCode(code.get(), dict, dict));
    if (!result) {
        PyErrorInfo error = fetchError();
        if (previous) {
            PyDict_SetItemString(modules, name.c_str(), previous.get());
        } else {
            PyDict_DelItemString(modules, name.c_str());
        }
        PyErr_Clear();
        restoreError(std::move(error));
        return {};
    }
    return module;
}

}  // namespace

ScriptStamp statScript(const std::string& path) {
    ScriptStamp stamp;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        stamp.error = common::errnoText(errno);
    } else if (!S_ISREG(st.st_mode)) {
        stamp.error = "not a regular file";
    } else {
        stamp.exists = true;
        stamp.mtime = st.st_mtim;
    }
    return stamp;
}

std::string scriptModuleName(const std::string& path) {
    // FNV-1a, 64 bit: stable across runs (unlike Python's hash()), no crypto needed.
    std::uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char c : path) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string name = "_wsgid_";
    for (int shift = 60; shift >= 0; shift -= 4) {
        name.push_back(kHex[(hash >> shift) & 0xF]);
    }
    return name;
}

ScriptLoader::ScriptLoader(common::LogSink& log, std::string applicationGroup, bool subInterpreter,
                           bool caseSensitive)
    : log_(log),
      applicationGroup_(std::move(applicationGroup)),
      subInterpreter_(subInterpreter),
      caseSensitive_(caseSensitive) {}

std::string ScriptLoader::keyOf(const std::string& path) const {
    if (caseSensitive_) {
        return path;
    }
    std::string key = path;
    std::transform(key.begin(), key.end(), key.begin(), common::asciiToLower);
    return key;
}

ScriptLoader::~ScriptLoader() {
    abandon();
}

common::Result<PyRef> ScriptLoader::module(const std::string& path, const ScriptStamp& stamp,
                                           bool reload) {
    if (!reload) {
        if (auto it = cache_.find(keyOf(path)); it != cache_.end()) {
            return PyRef::borrow(it->second.module.get());
        }
    }
    if (!stamp.exists) {
        std::string message = "WSGI script " + path + " cannot be loaded: " + stamp.error;
        logLinesWithoutGil(log_, common::LogLevel::Error, kIdScriptMissing, {message});
        return common::Status(common::ErrorCode::NotFound, std::move(message));
    }
    auto it = cache_.find(keyOf(path));
    if (it != cache_.end() && sameTime(it->second.mtime, stamp.mtime)) {
        return PyRef::borrow(it->second.module.get());
    }
    return load(path, reload);
}

common::Result<PyRef> ScriptLoader::load(const std::string& path, bool reload) {
    std::string source;
    timespec mtime{};
    common::Status read;
    bool locked = false;
    {
        GilRelease unlocked;
        locked = loadMutex_.try_lock_for(kLoadWait);
        if (locked) {
            read = readScript(path, source, mtime);
        }
    }
    if (!locked) {
        std::string message =
            "gave up waiting for another thread loading scripts in application "
            "group '" +
            applicationGroup_ + "' after " + common::durationText(kLoadWait) + "; is " + path +
            " hung?";
        logLinesWithoutGil(log_, common::LogLevel::Error, kIdLoadWait, {message});
        return common::Status(common::ErrorCode::Timeout, std::move(message));
    }
    std::unique_lock<std::timed_mutex> held(loadMutex_, std::adopt_lock);
    if (!read.isOk()) {
        std::string message = "WSGI script " + path + " cannot be loaded: " + read.message();
        logLinesWithoutGil(log_, common::LogLevel::Error, kIdScriptMissing, {message});
        return common::Status(read.code(), std::move(message));
    }
    const std::string key = keyOf(path);
    auto it = cache_.find(key);
    if (it != cache_.end() && (!reload || sameTime(it->second.mtime, mtime))) {
        return PyRef::borrow(it->second.module.get());  // another thread loaded it meanwhile
    }
    const bool reloading = it != cache_.end();
    PyRef fresh;
    {
        const LoadTracker::Scope loading;  // startup-timeout measures this (docs/operations.md)
        fresh = execModule(path, key, source, mtime);
    }
    if (!fresh) {
        PyErrorInfo error = fetchError();
        if (error.matches(PyExc_SystemExit)) {
            // A service script (threads=0) told to stop, or one that ends itself this way:
            // not an error of the script.
            std::string message = "WSGI script " + path + " ended with " + describeError(error);
            logLinesWithoutGil(log_, common::LogLevel::Notice, kIdScriptExited, {message});
            return common::Status(common::ErrorCode::Closed, std::move(message));
        }
        std::string message =
            "exception while loading WSGI script " + path + ": " + describeError(error);
        logError(log_, kIdLoadFailed, message, error);
        if (subInterpreter_ && error.matches(PyExc_ImportError)) {
            logLinesWithoutGil(
                log_, common::LogLevel::Error, kIdSubInterpreterHint,
                {"the ImportError happened in application group '" + applicationGroup_ +
                 "', a sub-interpreter; C extensions such as numpy may need "
                 "WSGIApplicationGroup %{GLOBAL}"});
        }
        return common::Status(common::ErrorCode::Internal, std::move(message));
    }
    // Look up again: the map may have changed while the script ran (other scripts loaded).
    Entry& entry = cache_[key];
    entry.module = PyRef::borrow(fresh.get());
    entry.mtime = mtime;
    if (reloading) {
        logLinesWithoutGil(log_, common::LogLevel::Info, kIdReloaded,
                           {"reloaded WSGI script " + path + " (its mtime changed)"});
    }
    return fresh;
}

common::Result<PyRef> ScriptLoader::callable(const std::string& path,
                                             const std::string& callableName,
                                             const ScriptStamp& stamp, bool reload) {
    common::Result<PyRef> loaded = module(path, stamp, reload);
    if (!loaded.isOk()) {
        return loaded.status();
    }
    PyObject* found = PyDict_GetItemString(PyModule_GetDict(loaded->get()), callableName.c_str());
    if (found == nullptr || PyCallable_Check(found) == 0) {
        std::string message = "WSGI script " + path + " has no callable '" + callableName + "'";
        if (found != nullptr) {
            message += " (it is a '" + std::string(Py_TYPE(found)->tp_name) + "')";
        }
        logLinesWithoutGil(log_, common::LogLevel::Error, kIdNoCallable, {message});
        return common::Status(common::ErrorCode::NotFound, std::move(message));
    }
    return PyRef::borrow(found);
}

void ScriptLoader::clear() noexcept {
    cache_.clear();
}

void ScriptLoader::abandon() noexcept {
    for (auto& [path, entry] : cache_) {
        (void)entry.module.release();
    }
    cache_.clear();
}

}  // namespace wsgid::python
