// SPDX-License-Identifier: Apache-2.0
// Configuration records of mod_wsgid: per-server and per-directory records (pool-allocated,
// trivially destructible) and the daemon group registry (a C++ object owned by pconf).
// httpd types only by forward declaration: include httpd_includes.h in .cpp files.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <sys/types.h>

#include "apache/group_load_table.h"
#include "apache/in_flight_table.h"
#include "apache/interpreter_sections.h"
#include "apache/log_rate_limit.h"
#include "common/python_settings.h"
#include "protocol/handshake.h"

struct apr_array_header_t;
struct apr_pool_t;
struct ap_conf_vector_t;
struct server_rec;
struct request_rec;

namespace wsgid::apache {

/// Tri-state flag for directives that merge (Unset inherits from the enclosing scope).
enum class Flag : signed char { Unset = -1, Off = 0, On = 1 };

/// Resolves a Flag with a default.
constexpr bool flagValue(Flag f, bool dflt) noexcept {
    return f == Flag::Unset ? dflt : f == Flag::On;
}

/// WSGIMapHEADToGET: whether a HEAD request reaches the app as GET (Auto: only when an output
/// filter that works on the content, such as DEFLATE, would see the body).
enum class HeadMapping : signed char { Unset = -1, Off = 0, On = 1, Auto = 2 };

/// One WSGIScriptAlias or WSGIScriptAliasMatch. Strings live in pconf. Order in the array is
/// configuration order.
struct ScriptAlias {
    const char* urlPath;           ///< mount point, without trailing slash ("" for "/"); the
                                   ///< regular expression for WSGIScriptAliasMatch
    const char* target;            ///< script file or directory (absolute; may hold $N)
    const char* processGroup;      ///< process-group= option, or nullptr
    const char* applicationGroup;  ///< application-group= option, or nullptr
    const char* callableObject;    ///< callable-object= option, or nullptr
    Flag passAuthorization;        ///< pass-authorization= option
    /// WSGIScriptAliasMatch: urlPath compiled (an ap_regex_t owned by pconf); nullptr for a
    /// WSGIScriptAlias. $N in target and the group options are substituted per request.
    const void* regex;
};
static_assert(std::is_trivially_destructible_v<ScriptAlias>);

/// One WSGIHandlerScript: requests whose handler (SetHandler/AddHandler) is `name` run the
/// script's handle_request callable. Strings live in the config pool.
struct HandlerScript {
    const char* name;              ///< the handler name
    const char* script;            ///< script file (absolute)
    const char* processGroup;      ///< process-group= option, or nullptr
    const char* applicationGroup;  ///< application-group= option, or nullptr
    Flag passAuthorization;        ///< pass-authorization= option
};
static_assert(std::is_trivially_destructible_v<HandlerScript>);

/// Per-server (main server and each <VirtualHost>) record. Allocated in pconf.
struct ServerConfig {
    apr_array_header_t* aliases;   ///< ScriptAlias entries of this server (vhost before main)
    const char* processGroup;      ///< server-level WSGIProcessGroup, or nullptr
    const char* applicationGroup;  ///< server-level WSGIApplicationGroup, or nullptr
    Flag passAuthorization;
    Flag chunkedRequest;
};
static_assert(std::is_trivially_destructible_v<ServerConfig>);

/// One WSGIAccessScript, WSGIAuthUserScript, WSGIAuthGroupScript or WSGIDispatchScript (config
/// pool): the script whose allow_access/check_password/get_realm_hash/groups_for_user (or
/// process_group/application_group/callable_object) httpd calls, run in the daemon group of the
/// request.
struct HookScript {
    const char* script;            ///< script file (absolute)
    const char* applicationGroup;  ///< application-group= (%{...} allowed), nullptr: %{GLOBAL}
};
static_assert(std::is_trivially_destructible_v<HookScript>);

/// Per-directory (<Directory>, <Location>, <Files>) record. Allocated in the config pool. A
/// server's own record (outside any section) is merged into every request of that server, so
/// settings without a server-record twin live here only.
struct DirConfig {
    const char* processGroup;      ///< WSGIProcessGroup, or nullptr (inherit)
    const char* applicationGroup;  ///< WSGIApplicationGroup, or nullptr (inherit)
    const char* callableObject;    ///< WSGICallableObject, or nullptr (inherit)
    Flag passAuthorization;        ///< WSGIPassAuthorization
    Flag chunkedRequest;           ///< WSGIChunkedRequest
    /// WSGIHandlerScript entries (HandlerScript), this scope's before the enclosing ones';
    /// nullptr when none.
    apr_array_header_t* handlerScripts;
    /// WSGIRestrictProcess: the process groups requests here may use (const char*, "" for
    /// %{GLOBAL}); nullptr when unrestricted (inherit).
    apr_array_header_t* restrictProcess;
    Flag scriptReloading;      ///< WSGIScriptReloading (default On)
    HeadMapping mapHeadToGet;  ///< WSGIMapHEADToGET (default Auto)
    Flag errorOverride;        ///< WSGIErrorOverride (default Off)
    Flag enableSendfile;       ///< WSGIEnableSendfile (default On: unlike mod_wsgi, see docs)
    Flag ignoreActivity;       ///< WSGIIgnoreActivity (default Off)
    /// WSGITrustedProxyHeaders: environ keys (const char*, "HTTP_X_FORWARDED_FOR"); nullptr:
    /// inherit (none).
    apr_array_header_t* trustedProxyHeaders;
    /// WSGITrustedProxies: IpNetwork entries; nullptr: inherit (none: every peer is trusted).
    apr_array_header_t* trustedProxies;
    const HookScript* accessScript;     ///< WSGIAccessScript, nullptr: inherit (none)
    const HookScript* authUserScript;   ///< WSGIAuthUserScript, nullptr: inherit (none)
    const HookScript* authGroupScript;  ///< WSGIAuthGroupScript, nullptr: inherit (none)
    const HookScript* dispatchScript;   ///< WSGIDispatchScript, nullptr: inherit (none)
};
static_assert(std::is_trivially_destructible_v<DirConfig>);

/// One daemon process group: a WSGIDaemonProcess, or the implicit default group that serves
/// aliases with no WSGIProcessGroup (Python never runs inside httpd). Built while the config is
/// read; socketPath is filled in by post_config. Read-only afterwards: httpd children read it
/// without locking.
struct DaemonGroup {
    std::string name;
    bool isDefault = false;      ///< the implicit group, configured by WSGIPython*
    std::string serverName;      ///< ServerName of the defining vhost; "" when global
    const char* definedAt = "";  ///< "file:line" of the directive, for error messages

    int processes = 1;
    bool processesGiven = false;      ///< processes= present at all -> wsgi.multiprocess
    int threads = 15;                 ///< mod_wsgi's default; 0: service scripts only
    std::string user;                 ///< user= as written ("" = Apache's User)
    std::string group;                ///< group= as written ("" = the user's primary group)
    std::string supplementaryGroups;  ///< supplementary-groups= as written (comma list)
    std::optional<uid_t> uid;         ///< resolved in check_config (only when httpd runs as root)
    std::string userName;             ///< account of uid (for initgroups); set with uid
    std::optional<gid_t> gid;
    std::vector<gid_t> supplementaryGids;
    std::optional<mode_t> umask;
    std::string home;
    /// chroot=: the daemons chroot here before they drop privileges; home=, python-home=,
    /// python-path= and the scripts they load are then paths inside it. "" = none.
    std::string chroot;
    std::string pythonHome;  ///< python-home=, or WSGIPythonHome once check_config ran
    std::vector<std::string> pythonPath;
    std::string displayName;  ///< already expanded (%{GROUP} -> "(wsgi:NAME)")
    std::string lang;
    std::string locale;
    int listenBacklog = 100;  ///< mod_wsgi's default
    /// The max-in-flight= limit in force, resolved by post_config (maxInFlightLimit); 0: none.
    /// (Next to listenBacklog so the two ints share one 8-byte slot.)
    int inFlightLimit = 0;
    std::chrono::seconds connectTimeout{15};            ///< mod_wsgi's default
    std::optional<std::chrono::seconds> socketTimeout;  ///< unset: the server's Timeout
    /// response-socket-timeout=: bound on each write of the response to an HTTP/1.x client;
    /// unset: socket-timeout= when given, else the connection's own (the server's Timeout).
    std::optional<std::chrono::seconds> responseSocketTimeout;
    /// queue-timeout=: how long a request may wait for a worker, from when httpd received it,
    /// before it gets 503 and is never run; 0 = until socket-timeout. mod_wsgi's default is 0;
    /// ours is mod_wsgi-express's 45 s, so a saturated group answers instead of holding httpd
    /// workers for the whole socket-timeout (300 s on Debian).
    std::chrono::seconds queueTimeout{45};
    std::chrono::seconds shutdownTimeout{5};  ///< mod_wsgi's default

    // Recycling (docs/operations.md, "Recycling"): 0 turns each off. A recycled process is
    // replaced by a new one that is ready before the old one stops taking requests.
    std::uint64_t maximumRequests = 0;          ///< maximum-requests=: requests per process
    std::chrono::seconds restartInterval{0};    ///< restart-interval=: age of a process
    std::chrono::seconds inactivityTimeout{0};  ///< inactivity-timeout=: idle time
    std::uint64_t maximumMemoryBytes = 0;       ///< maximum-memory=: resident set size
    std::chrono::seconds cpuTimeLimit{0};       ///< cpu-time-limit=: CPU seconds (RLIMIT_CPU)
    std::uint64_t memoryLimitBytes = 0;         ///< memory-limit=: RLIMIT_DATA (allocations fail)
    std::uint64_t virtualMemoryLimitBytes = 0;  ///< virtual-memory-limit=: RLIMIT_AS
    /// graceful-timeout=: how long a recycled process may take to finish what it has after it
    /// stopped accepting (mod_wsgi's default).
    std::chrono::seconds gracefulTimeout{15};
    /// eviction-timeout=: the same for a process evicted with SIGUSR1; 0: graceful-timeout.
    std::chrono::seconds evictionTimeout{0};
    // Timeouts of a daemon's own work (docs/operations.md, "Timeouts").
    std::chrono::seconds startupTimeout{0};  ///< startup-timeout=: a script load; 0 = off
    std::chrono::seconds requestTimeout{0};  ///< request-timeout=: one request; 0 = off
    /// interrupt-timeout=: after request-timeout, mod_wsgi.RequestTimeout is raised in the
    /// thread, which has this long to leave the app before the process is recycled; 0 = off
    std::chrono::seconds interruptTimeout{0};
    /// deadlock-timeout=: how long the GIL may stay unavailable; mod_wsgi's default.
    std::chrono::seconds deadlockTimeout{300};
    /// max-in-flight=: the most requests of this group httpd may have in progress at once,
    /// running or waiting for a worker, over all its children (0: no limit); unset: see
    /// maxInFlightLimit(). mod_wsgid only.
    std::optional<int> maxInFlight;
    /// log-rate= and log-burst=: the group's error-log rate limit in the log relay (bytes/s and
    /// bytes; 0 = no limit). Defaults in log_rate_limit.h.
    std::uint64_t logRateBytes = kLogRateBytesPerSecond;
    std::uint64_t logBurstBytes = kLogBurstBytes;

    bool allowRoot = false;  ///< allow-root=On: user=root is accepted and Python may run as root
    bool serverMetrics = false;            ///< server-metrics=: mod_wsgi.server_metrics()
    int cpuPriority = 0;                   ///< cpu-priority=: nice value (0: inherited)
    std::uint64_t stackSize = 0;           ///< stack-size=: bytes per thread stack (0: libc's)
    std::string pythonEggs;                ///< python-eggs=: PYTHON_EGG_CACHE ("" = not set)
    std::string newrelicConfigFile;        ///< newrelic-config-file=: the agent's ini file
    std::string newrelicEnvironment;       ///< newrelic-environment=: its section
    std::optional<double> switchInterval;  ///< switch-interval=; unset: WSGISwitchInterval

    // Buffering between module and daemon (docs/configuration.md); 0: the default of each.
    /// send-buffer-size=: bytes in flight daemon -> module (SO_SNDBUF of the daemon's sockets,
    /// SO_RCVBUF of the module's); 0: common::kDefaultSocketBufferBytes within the kernel's
    /// maximum (common::withDefaultSizes).
    int sendBufferSize = 0;
    /// receive-buffer-size=: bytes in flight module -> daemon (the reverse); 0: as above.
    int receiveBufferSize = 0;
    /// header-buffer-size=: longest response header line (name + value) the module accepts
    /// from a daemon; 0: kDefaultHeaderBufferBytes (response_buffering.h).
    int headerBufferSize = 0;
    /// response-buffer-size=: response bytes passed to the client's filters before a FLUSH is
    /// forced; 0: kDefaultResponseBufferBytes.
    int responseBufferSize = 0;
    /// response-flush-delay=: milliseconds to wait for more of the body when the daemon socket
    /// is momentarily empty, before flushing; 0 (kDefaultResponseFlushDelay): flush at once.
    int responseFlushDelayMs = 0;

    /// script-user= and script-group= as written ("" = no check): the WSGI script a request of
    /// the group runs must be owned by this user / group, else 403 (mod_wsgi's rule). Their ids
    /// are resolved by check_config whether or not httpd runs as root.
    std::string scriptUser;
    std::string scriptGroup;
    /// socket-user= as written ("" = httpd's User): the owner of the group's socket file and the
    /// only uid its daemons accept connections from, for httpd children that run as another
    /// user than User (mod_ruid2, mpm-itk). Resolved by check_config when httpd runs as root.
    std::string socketUser;
    std::optional<uid_t> socketUid;
    std::optional<uid_t> scriptUid;
    std::optional<gid_t> scriptGid;

    std::string socketPath;  ///< set by post_config
    /// The group's counters in GroupRegistry::inFlight (its position in the registry), set by
    /// post_config.
    std::size_t inFlightIndex = 0;
    /// This generation's secret, made by the process manager in post_config (before httpd forks
    /// its children, which inherit it); the daemons get it and older ones through a pipe.
    protocol::Secret secret{};
    /// This generation's load table of the group (GroupRegistry::loadTables owns it), made by the
    /// process manager in post_config for a group of two or more processes; nullptr without one:
    /// its requests then go by Busy answers alone.
    GroupLoadTable* loadTable = nullptr;

    /// Scripts loaded when a process starts, as "script|application-group" ("" = %{GLOBAL}):
    /// WSGIImportScript, and WSGIScriptAlias with literal process-group= and application-group=.
    std::vector<std::string> preload;
    /// The server (main or <VirtualHost>) that defined the group; nullptr for the default group.
    /// serverName is taken from it by check_config, once ServerName is known.
    server_rec* server = nullptr;
};

/// All daemon groups of the configuration. Owned by pconf (attachToPool); one per config
/// generation. Children inherit it read-only through fork.
class GroupRegistry {
public:
    /// Name of the implicit default group.
    static constexpr std::string_view kDefaultGroupName = "wsgid-default";

    /// The registry of the configuration being read / in force; created on first use.
    static GroupRegistry& get(apr_pool_t* pconf);

    /// Adds a group; nullptr (and nothing added) if the name is taken.
    DaemonGroup* add(std::unique_ptr<DaemonGroup> group);
    /// The group with this name, or nullptr.
    [[nodiscard]] const DaemonGroup* find(std::string_view name) const noexcept;
    [[nodiscard]] DaemonGroup* find(std::string_view name) noexcept;
    [[nodiscard]] const std::vector<std::unique_ptr<DaemonGroup>>& groups() const noexcept {
        return groups_;
    }

    /// Server-wide settings (WSGISocketPrefix, WSGIPython*, WSGIDaemonProgram).
    std::string socketPrefix;             ///< "" = "<DefaultRuntimeDir>/wsgid"
    std::string pythonHome;               ///< WSGIPythonHome
    std::vector<std::string> pythonPath;  ///< WSGIPythonPath
    std::string pythonEggs;               ///< WSGIPythonEggs (the implicit default group's)
    std::string daemonProgram;            ///< WSGIDaemonProgram; "" = built-in lookup
    /// WSGIPythonOptimize, WSGIDontWriteBytecode, WSGIPythonWarnings, WSGIPythonHashSeed,
    /// WSGIRestrictStdin/Stdout/Signal, WSGICaseSensitivity, WSGIDestroyInterpreter: every
    /// daemon gets them (DaemonArgs::python).
    common::PythonSettings python;

    /// A literal process-group name written in a directive (WSGIProcessGroup, process-group= of
    /// WSGIScriptAlias and WSGIImportScript). check_config fails unless the group exists and
    /// may be used from `server`.
    struct GroupReference {
        std::string name;
        const char* directive = "";  ///< directive name, for the message
        const char* where = "";      ///< "file:line"
        server_rec* server = nullptr;
    };
    std::vector<GroupReference> references;
    /// A script to load at process start in a group that may be defined later in the file.
    struct PendingPreload {
        std::string group;
        std::string entry;  ///< "script|application-group"
    };
    std::vector<PendingPreload> pendingPreloads;
    /// A directive names %{GLOBAL}, so check_config creates the implicit default group.
    bool defaultGroupWanted = false;

    /// The <WSGIInterpreterOptions> sections, in configuration order.
    std::vector<InterpreterSection> interpreterSections;
    /// The section whose directives are being read (they set it instead of the server-wide
    /// settings); nullopt outside one.
    std::optional<std::size_t> openInterpreterSection;
    /// Servers with a WSGIHandlerScript without process-group=: like such an alias, they need
    /// the default group unless the server has a literal WSGIProcessGroup.
    std::vector<server_rec*> handlerScriptServers;
    /// Accepted no-op directives ("file:line: WSGIRestrictEmbedded"), noted once at start.
    std::vector<std::string> ignoredDirectives;
    /// The wsgid-daemon binary chosen by check_config (WSGIDaemonProgram, build tree, installed).
    std::string daemonBinary;

    /// Set by post_config in the parent: the Hello frame carries them (docs/protocol.md).
    std::uint32_t managerPid = 0;  ///< pid of the httpd parent that started the daemons
    std::uint32_t generation = 0;  ///< ap_state_query(AP_SQ_CONFIG_GEN) of this configuration
    /// The groups' requests in progress, shared by this generation's httpd children (mapped by
    /// post_config before they fork, unmapped in the parent with pconf); nullptr when it could
    /// not be mapped, and then no max-in-flight= limit applies.
    InFlightTable* inFlight = nullptr;
    /// The groups' load tables (DaemonGroup::loadTable), this generation's.
    std::vector<std::unique_ptr<GroupLoadTable>> loadTables;

private:
    std::vector<std::unique_ptr<DaemonGroup>> groups_;
};

/// create_dir_config / merge_dir_config / create_server_config / merge_server_config of the module
/// record. Records live in the pool httpd passes; merged aliases are the vhost's, then the main
/// server's, so vhost mounts take precedence.
void* createDirConfig(apr_pool_t* p, char* dir) noexcept;
void* mergeDirConfig(apr_pool_t* p, void* base, void* add) noexcept;
void* createServerConfig(apr_pool_t* p, server_rec* s) noexcept;
void* mergeServerConfig(apr_pool_t* p, void* base, void* add) noexcept;

/// The module's record of a server (never nullptr once the config is read). Valid while pconf
/// lives; read-only after start-up, so any thread may read it.
const ServerConfig* getServerConfig(const server_rec* s) noexcept;
/// The module's per-directory record in a config vector (r->per_dir_config). Valid while the
/// vector's pool lives.
const DirConfig* getDirConfig(ap_conf_vector_t* perDirConfig) noexcept;

/// check_config: validates what single directives cannot (process-group names against the
/// defined groups, users and groups when httpd runs as root, python-home and home directories,
/// socket path lengths, the daemon binary), creates the implicit default group and fills in
/// inherited settings (WSGIPythonHome, the socket prefix, DaemonGroup::serverName). Logs every
/// problem with what to change and returns false if there was any. Also logs the startup
/// notices (ignored directives) when `logNotices`.
bool checkConfiguration(apr_pool_t* pconf, server_rec* s, bool logNotices) noexcept;

}  // namespace wsgid::apache
