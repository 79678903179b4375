// SPDX-License-Identifier: Apache-2.0
// The directive table: each WSGI* directive's name, handler, context and help text. The handlers
// live in the *_directives.cpp files, grouped by what they configure.
#include "apache/directives.h"

#include "apache/config.h"
#include "apache/daemon_directives.h"
#include "apache/directory_directives.h"
#include "apache/httpd_includes.h"
#include "apache/ignored_directives.h"
#include "apache/mapping_directives.h"
#include "apache/python_directives.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

// The PythonSettings fields of setPythonFlag's directives (cmd->info points at one).
constexpr bool common::PythonSettings::*kRestrictStdinField =
    &common::PythonSettings::restrictStdin;
constexpr bool common::PythonSettings::*kRestrictStdoutField =
    &common::PythonSettings::restrictStdout;
constexpr bool common::PythonSettings::*kRestrictSignalField =
    &common::PythonSettings::restrictSignal;
constexpr bool common::PythonSettings::*kDestroyInterpreterField =
    &common::PythonSettings::destroyInterpreter;
constexpr bool common::PythonSettings::*kWriteBytecodeField =
    &common::PythonSettings::writeBytecode;

// The HookScript fields of setHookScript's directives (cmd->info points at one).
constexpr const HookScript* DirConfig::*kAccessScriptField = &DirConfig::accessScript;
constexpr const HookScript* DirConfig::*kAuthUserScriptField = &DirConfig::authUserScript;
constexpr const HookScript* DirConfig::*kAuthGroupScriptField = &DirConfig::authGroupScript;
constexpr const HookScript* DirConfig::*kDispatchScriptField = &DirConfig::dispatchScript;

// The Flag fields of setDirFlag's directives (cmd->info points at one).
constexpr Flag DirConfig::*kScriptReloadingField = &DirConfig::scriptReloading;
constexpr Flag DirConfig::*kErrorOverrideField = &DirConfig::errorOverride;
constexpr Flag DirConfig::*kEnableSendfileField = &DirConfig::enableSendfile;
constexpr Flag DirConfig::*kIgnoreActivityField = &DirConfig::ignoreActivity;

template <typename Fn>
cmd_func asCmd(Fn* fn) noexcept {
    // httpd's command_rec stores every handler as `const char *(*)()` when compiled as C++ (no
    // designated initializers) and calls it back with the signature its args_how promises. The
    // detour through void(*)() is the cast -Wcast-function-type documents as intentional.
    return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(fn));
}

}  // namespace

const command_rec kDirectives[] = {
    AP_INIT_RAW_ARGS("WSGIScriptAlias", asCmd(setScriptAlias), nullptr, RSRC_CONF,
                     "URL-path file-path [process-group=NAME] [application-group=NAME] "
                     "[callable-object=NAME] [pass-authorization=On|Off]"),
    AP_INIT_RAW_ARGS("WSGIScriptAliasMatch", asCmd(setScriptAlias), const_cast<char*>("regex"),
                     RSRC_CONF,
                     "regex file-path [process-group=NAME] [application-group=NAME] "
                     "[callable-object=NAME] [pass-authorization=On|Off]; $N in file-path and "
                     "options are the expression's groups"),
    AP_INIT_RAW_ARGS("WSGIHandlerScript", asCmd(setHandlerScript), nullptr, RSRC_CONF | ACCESS_CONF,
                     "name file-path [process-group=NAME] [application-group=NAME] "
                     "[pass-authorization=On|Off]: SetHandler name runs the script's "
                     "handle_request"),
    AP_INIT_ITERATE("WSGIRestrictProcess", asCmd(addRestrictProcess), nullptr,
                    RSRC_CONF | ACCESS_CONF,
                    "the daemon process groups (names or %{GLOBAL}) requests here may use"),
    AP_INIT_FLAG("WSGIScriptReloading", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kScriptReloadingField)), OR_FILEINFO,
                 "On (default): reload a WSGI script whose modification time changed"),
    AP_INIT_TAKE1("WSGIMapHEADToGET", asCmd(setMapHeadToGet), nullptr, OR_FILEINFO,
                  "On, Off or Auto (default): show HEAD requests to the app as GET"),
    AP_INIT_FLAG("WSGIErrorOverride", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kErrorOverrideField)), OR_FILEINFO,
                 "On: a 4xx/5xx response of the app is replaced by httpd's (ErrorDocument)"),
    AP_INIT_FLAG("WSGIEnableSendfile", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kEnableSendfileField)), OR_FILEINFO,
                 "On: wsgi.file_wrapper responses may be sent with sendfile"),
    AP_INIT_FLAG("WSGIIgnoreActivity", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kIgnoreActivityField)), OR_FILEINFO,
                 "On: requests here do not count as activity for inactivity-timeout="),
    AP_INIT_RAW_ARGS("WSGIAccessScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kAccessScriptField)), OR_AUTHCFG,
                     "file-path [application-group=NAME]: its allow_access(environ, host) "
                     "decides access, run in the request's daemon group"),
    AP_INIT_RAW_ARGS("WSGIAuthUserScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kAuthUserScriptField)), OR_AUTHCFG,
                     "file-path [application-group=NAME]: check_password/get_realm_hash of "
                     "AuthBasicProvider/AuthDigestProvider wsgi"),
    AP_INIT_RAW_ARGS("WSGIAuthGroupScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kAuthGroupScriptField)),
                     OR_AUTHCFG,
                     "file-path [application-group=NAME]: groups_for_user of Require wsgi-group"),
    AP_INIT_RAW_ARGS("WSGITrustedProxyHeaders", asCmd(setTrustedProxyHeaders), nullptr, OR_FILEINFO,
                     "proxy headers (X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, "
                     "Forwarded, ...) that rewrite the environ when the peer is trusted"),
    AP_INIT_RAW_ARGS("WSGITrustedProxies", asCmd(setTrustedProxies), nullptr, OR_FILEINFO,
                     "addresses or networks of the proxies whose headers are trusted"),
    AP_INIT_RAW_ARGS("WSGIDispatchScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kDispatchScriptField)),
                     RSRC_CONF | ACCESS_CONF,
                     "file-path [application-group=NAME]: its process_group/application_group/"
                     "callable_object(environ) reroute each request, run in the request's daemon "
                     "group"),
    AP_INIT_RAW_ARGS("WSGIDaemonProcess", asCmd(setDaemonProcess), nullptr, RSRC_CONF,
                     "NAME [option=value ...]: a daemon process group"),
    AP_INIT_TAKE1("WSGIProcessGroup", asCmd(setProcessGroup), nullptr, RSRC_CONF | ACCESS_CONF,
                  "the daemon process group of these requests"),
    AP_INIT_TAKE1("WSGIApplicationGroup", asCmd(setApplicationGroup), nullptr,
                  RSRC_CONF | ACCESS_CONF,
                  "the Python interpreter (%{GLOBAL}, %{RESOURCE}, %{SERVER}, %{HOST}, "
                  "%{ENV:name} or a name) of these requests"),
    AP_INIT_TAKE1("WSGICallableObject", asCmd(setCallableObject), nullptr, OR_FILEINFO,
                  "name of the WSGI callable in the script (default: application)"),
    AP_INIT_FLAG("WSGIPassAuthorization", asCmd(setPassAuthorization), nullptr, OR_FILEINFO,
                 "On: pass the Authorization header to the application as HTTP_AUTHORIZATION"),
    AP_INIT_FLAG("WSGIChunkedRequest", asCmd(setChunkedRequest), nullptr, OR_FILEINFO,
                 "On: accept request bodies with Transfer-Encoding: chunked"),
    AP_INIT_TAKE1("WSGISocketPrefix", asCmd(setSocketPrefix), nullptr, RSRC_CONF,
                  "path prefix of the daemon sockets (relative to ServerRoot)"),
    AP_INIT_TAKE1("WSGIPythonHome", asCmd(setPythonHome), nullptr, RSRC_CONF,
                  "Python home (virtualenv) of daemon groups without python-home="),
    AP_INIT_TAKE1("WSGIPythonPath", asCmd(setPythonPath), nullptr, RSRC_CONF,
                  "colon-separated sys.path entries of the implicit default group"),
    AP_INIT_TAKE1("WSGIDaemonProgram", asCmd(setDaemonProgram), nullptr, RSRC_CONF,
                  "path of the wsgid-daemon executable (default: the installed one)"),
    AP_INIT_RAW_ARGS("WSGIImportScript", asCmd(setImportScript), nullptr, RSRC_CONF,
                     "file-path process-group=NAME application-group=NAME: load at process "
                     "start"),
    AP_INIT_TAKE1("WSGIPythonOptimize", asCmd(setPythonOptimize), nullptr, RSRC_CONF,
                  "0, 1 or 2: Python's -O level in every daemon (default 0)"),
    AP_INIT_FLAG("WSGIDontWriteBytecode", asCmd(setDontWriteBytecode),
                 const_cast<void*>(static_cast<const void*>(&kWriteBytecodeField)), RSRC_CONF,
                 "On: daemons write no .pyc files (default Off)"),
    AP_INIT_TAKE1("WSGIPythonWarnings", asCmd(addPythonWarnings), nullptr, RSRC_CONF,
                  "a warnings filter as for python -W (repeatable)"),
    AP_INIT_TAKE1("WSGIPythonHashSeed", asCmd(setPythonHashSeed), nullptr, RSRC_CONF,
                  "random (default) or 0-4294967295: Python's hash seed in every daemon"),
    AP_INIT_FLAG("WSGIRestrictStdin", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kRestrictStdinField)), RSRC_CONF,
                 "On: using sys.stdin raises OSError (default Off)"),
    AP_INIT_FLAG("WSGIRestrictStdout", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kRestrictStdoutField)), RSRC_CONF,
                 "On: using sys.stdout raises OSError; Off (default): it writes to the error log"),
    AP_INIT_FLAG("WSGIRestrictSignal", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kRestrictSignalField)), RSRC_CONF,
                 "On (default): signal.signal() is logged and ignored"),
    AP_INIT_FLAG("WSGICaseSensitivity", asCmd(setCaseSensitivity), nullptr, RSRC_CONF,
                 "Off: script paths and %{RESOURCE} names are compared in lower case"),
    AP_INIT_FLAG("WSGIDestroyInterpreter", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kDestroyInterpreterField)), RSRC_CONF,
                 "Off: a stopping daemon does not end its interpreters or finalize Python"),
    AP_INIT_TAKE1("WSGIPythonEggs", asCmd(setPythonEggs), nullptr, RSRC_CONF,
                  "PYTHON_EGG_CACHE of the implicit default group (daemon groups: python-eggs=)"),
    AP_INIT_RAW_ARGS("<WSGIInterpreterOptions", asCmd(openInterpreterOptions), nullptr, RSRC_CONF,
                     "[process-group=G] [application-group=A]: Python settings for the matching "
                     "interpreters only"),
    AP_INIT_TAKE1("WSGISwitchInterval", asCmd(setSwitchInterval), nullptr, RSRC_CONF,
                  "seconds (a positive number): sys.setswitchinterval() in every daemon"),
    AP_INIT_FLAG("WSGIPerInterpreterGIL", asCmd(ignoreUnlessOn),
                 const_cast<char*>("needs Python 3.12 or later; sub-interpreters share the GIL"),
                 RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIFreeThreading", asCmd(ignoreUnlessOn),
                 const_cast<char*>("needs a free-threaded Python build; the GIL stays on"),
                 RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIServerMetrics", asCmd(ignoreFlag),
                 const_cast<char*>("mod_wsgi.server_metrics() is not provided"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_RAW_ARGS("WSGITelemetryService", asCmd(ignoreRaw),
                     const_cast<char*>("mod_wsgi 6's telemetry datagrams are not sent"), RSRC_CONF,
                     "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_TAKE1("WSGISlowRequests", asCmd(ignoreValue),
                  const_cast<char*>("mod_wsgi 6's telemetry records are not sent"), RSRC_CONF,
                  "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_RAW_ARGS("WSGITelemetryOptions", asCmd(ignoreRaw),
                     const_cast<char*>("mod_wsgi 6's telemetry records are not sent"), RSRC_CONF,
                     "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_TAKE1("WSGINewRelicConfigFile", asCmd(ignoreValue),
                  const_cast<char*>("start the New Relic agent from the WSGI script instead"),
                  RSRC_CONF, "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_TAKE1("WSGINewRelicEnvironment", asCmd(ignoreValue),
                  const_cast<char*>("start the New Relic agent from the WSGI script instead"),
                  RSRC_CONF, "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_FLAG("WSGIPy3kWarningFlag", asCmd(ignoreFlag),
                 const_cast<char*>("it only existed for Python 2"), RSRC_CONF,
                 "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_FLAG("WSGIPassApacheRequest", asCmd(ignoreDirFlag),
                 const_cast<char*>("Python never runs inside httpd, so there is no request_rec "
                                   "to pass (environ['apache.request_rec'] is absent)"),
                 RSRC_CONF | ACCESS_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIGroupAuthoritative", asCmd(ignoreDirFlag),
                 const_cast<char*>("it has no effect on Apache 2.4 (in mod_wsgi neither)"),
                 OR_AUTHCFG, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIUserAuthoritative", asCmd(ignoreDirFlag),
                 const_cast<char*>("it only existed for Apache 2.2"), OR_AUTHCFG,
                 "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_FLAG("WSGIRestrictEmbedded", asCmd(ignoreFlag),
                 const_cast<char*>("mod_wsgid never runs Python inside Apache"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGILazyInitialization", asCmd(ignoreFlag),
                 const_cast<char*>("Python is never initialised in the Apache parent"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGISocketRotation", asCmd(ignoreFlag),
                 const_cast<char*>("daemon sockets always keep their name across graceful "
                                   "restarts, which is what Off means in mod_wsgi"),
                 RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_TAKE1("WSGIAcceptMutex", asCmd(ignoreValue),
                  const_cast<char*>("daemon processes accept without a cross-process lock"),
                  RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIVerboseDebugging", asCmd(ignoreFlag),
                 const_cast<char*>("use LogLevel wsgid:debug instead"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
};

}  // namespace wsgid::apache
