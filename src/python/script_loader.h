// SPDX-License-Identifier: Apache-2.0
// ScriptLoader: WSGI script files as modules of one interpreter, cached by path and reloaded
// when the file's mtime changes. One per interpreter; used with that interpreter's GIL held.
#pragma once

#include "python/python.h"

#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/log_sink.h"
#include "common/status.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// What stat() said about a script file, taken WITHOUT the GIL before entering Python.
struct ScriptStamp {
    bool exists = false;
    timespec mtime{};
    std::string error;  ///< why it does not exist / cannot be read ("" when it exists)
};

/// stat()s a script file. Any thread, no GIL needed (and none should be held: it is file I/O).
ScriptStamp statScript(const std::string& path);

/// The module name a script gets: "_wsgid_" and the hex FNV-1a hash of its path (of its
/// lower-cased path under WSGICaseSensitivity Off).
std::string scriptModuleName(const std::string& path);

/// Loads and caches script modules for one interpreter. All members run with that interpreter's
/// GIL held and current; a (re)load releases and re-takes the GIL to wait for the load lock and to
/// read the file, so other threads run meanwhile.
class ScriptLoader {
public:
    /// `log` must outlive the loader. `subInterpreter` adds the %{GLOBAL} hint to ImportErrors.
    /// `caseSensitive` false (WSGICaseSensitivity Off): paths that differ only in case are the
    /// same script (one module, named after the lower-cased path).
    ScriptLoader(common::LogSink& log, std::string applicationGroup, bool subInterpreter,
                 bool caseSensitive = true);
    ~ScriptLoader();
    ScriptLoader(const ScriptLoader&) = delete;
    ScriptLoader& operator=(const ScriptLoader&) = delete;
    ScriptLoader(ScriptLoader&&) = delete;
    ScriptLoader& operator=(ScriptLoader&&) = delete;

    /// The module for `path`, loading it on first use and, when `reload` (WSGIScriptReloading,
    /// the default), re-executing it as a fresh module when `stamp` shows a different mtime than
    /// the cached one; without `reload` a loaded module is kept whatever happens to the file. On
    /// failure (file missing, exception while executing, lock wait too long) logs the reason and
    /// traceback with a WG id and returns the error; a script that raises SystemExit while it
    /// executes (a service script told to stop) is logged as a notice and gives
    /// ErrorCode::Closed. GIL held.
    common::Result<PyRef> module(const std::string& path, const ScriptStamp& stamp,
                                 bool reload = true);

    /// module(), then its global `callableName`; a missing or non-callable one is an error
    /// ("... has no callable 'application'"). GIL held.
    common::Result<PyRef> callable(const std::string& path, const std::string& callableName,
                                   const ScriptStamp& stamp, bool reload = true);

    /// Drops every cached module (GIL held, this interpreter current).
    void clear() noexcept;
    /// Forgets the cached modules without touching Python.
    void abandon() noexcept;

private:
    struct Entry {
        PyRef module;
        timespec mtime{};
    };
    common::Result<PyRef> load(const std::string& path, bool reload);
    /// The cache key and module identity of `path`.
    [[nodiscard]] std::string keyOf(const std::string& path) const;

    common::LogSink& log_;
    std::string applicationGroup_;
    bool subInterpreter_;
    bool caseSensitive_;
    std::unordered_map<std::string, Entry> cache_;  // guarded by the GIL
    std::timed_mutex loadMutex_;                    // serializes loads; never taken with the GIL
};

}  // namespace wsgid::python
