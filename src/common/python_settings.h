// SPDX-License-Identifier: Apache-2.0
// PythonSettings: the server-wide Python settings of mod_wsgi's directives (WSGIPythonOptimize,
// WSGIDontWriteBytecode, WSGIPythonWarnings, WSGIPythonHashSeed, WSGIRestrictStdin,
// WSGIRestrictStdout, WSGIRestrictSignal, WSGICaseSensitivity, WSGIDestroyInterpreter,
// WSGISwitchInterval), carried
// from the module's configuration through DaemonArgs to every daemon's Python runtime. Data only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsgid::common {

/// How each daemon sets up Python; the defaults are mod_wsgi's.
struct PythonSettings {
    int optimize = 0;                       ///< PyConfig.optimization_level: 0, 1 (-O) or 2 (-OO)
    bool writeBytecode = true;              ///< PyConfig.write_bytecode (WSGIDontWriteBytecode Off)
    std::vector<std::string> warnings;      ///< PyConfig.warnoptions, each a -W value
    std::optional<std::uint32_t> hashSeed;  ///< PYTHONHASHSEED; nullopt: random
    bool restrictStdin = false;             ///< sys.stdin raises OSError on use
    bool restrictStdout = false;     ///< sys.stdout raises OSError on use (else: the error log)
    bool restrictSignal = true;      ///< signal.signal() is a logged no-op
    bool caseSensitive = true;       ///< script paths name modules and %{RESOURCE} as written
    bool destroyInterpreter = true;  ///< end interpreters and finalize Python at exit
    std::optional<double> switchInterval;  ///< sys.setswitchinterval(); nullopt: Python's 5 ms
};

}  // namespace wsgid::common
