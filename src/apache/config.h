// SPDX-License-Identifier: Apache-2.0
// Configuration records of mod_wsgid: per-server and per-directory records (pool-allocated,
// trivially destructible) and the daemon group registry (a C++ object owned by pconf).
// httpd types only by forward declaration: include httpd_includes.h in .cpp files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct apr_array_header_t;
struct apr_pool_t;
struct server_rec;
struct request_rec;

namespace wsgid::apache {

/// Tri-state flag for directives that merge (Unset inherits from the enclosing scope).
enum class Flag : signed char { Unset = -1, Off = 0, On = 1 };

/// Resolves a Flag with a default.
constexpr bool flagValue(Flag f, bool dflt) noexcept { return f == Flag::Unset ? dflt : f == Flag::On; }

/// One WSGIScriptAlias. Strings live in pconf. Order in the array is configuration order.
struct ScriptAlias {
    const char* urlPath;           ///< mount point, without trailing slash ("" for "/")
    const char* target;            ///< script file (absolute)
    const char* processGroup;      ///< process-group= option, or nullptr
    const char* applicationGroup;  ///< application-group= option, or nullptr
    const char* callableObject;    ///< callable-object= option, or nullptr
    Flag passAuthorization;        ///< pass-authorization= option
};
static_assert(std::is_trivially_destructible_v<ScriptAlias>);

/// Per-server (main server and each <VirtualHost>) record. Allocated in pconf.
struct ServerConfig {
    apr_array_header_t* aliases;  ///< ScriptAlias entries of this server (vhost before main)
    const char* processGroup;     ///< server-level WSGIProcessGroup, or nullptr
    const char* applicationGroup; ///< server-level WSGIApplicationGroup, or nullptr
    Flag passAuthorization;
    Flag chunkedRequest;
};
static_assert(std::is_trivially_destructible_v<ServerConfig>);

/// Per-directory (<Directory>, <Location>, <Files>) record. Allocated in the config pool.
struct DirConfig {
    const char* processGroup;      ///< WSGIProcessGroup, or nullptr (inherit)
    const char* applicationGroup;  ///< WSGIApplicationGroup, or nullptr (inherit)
    const char* callableObject;    ///< WSGICallableObject, or nullptr (inherit)
    Flag passAuthorization;        ///< WSGIPassAuthorization
    Flag chunkedRequest;           ///< WSGIChunkedRequest
};
static_assert(std::is_trivially_destructible_v<DirConfig>);

/// One daemon process group: a WSGIDaemonProcess, or the implicit default group that serves
/// aliases with no WSGIProcessGroup (Python never runs inside httpd). Built while the config is
/// read; socketPath is filled in by post_config. Read-only afterwards: httpd children read it
/// without locking.
struct DaemonGroup {
    std::string name;
    bool isDefault = false;          ///< the implicit group, configured by WSGIPython*
    std::string serverName;          ///< ServerName of the defining vhost; "" when global
    const char* definedAt = "";      ///< "file:line" of the directive, for error messages

    int processes = 1;
    bool processesGiven = false;     ///< processes= present at all -> wsgi.multiprocess
    int threads = 15;                ///< mod_wsgi's default
    std::string user;                ///< user= as written ("" = Apache's User)
    std::string group;               ///< group= as written ("" = the user's primary group)
    std::string supplementaryGroups; ///< supplementary-groups= as written (comma list)
    std::optional<uid_t> uid;        ///< resolved in check_config (only when httpd runs as root)
    std::optional<gid_t> gid;
    std::vector<gid_t> supplementaryGids;
    std::optional<mode_t> umask;
    std::string home;
    std::string pythonHome;
    std::vector<std::string> pythonPath;
    std::string displayName;         ///< already expanded (%{GROUP} -> "(wsgi:NAME)")
    std::string lang;
    std::string locale;
    int listenBacklog = 100;                            ///< mod_wsgi's default
    std::chrono::seconds connectTimeout{15};            ///< mod_wsgi's default
    std::optional<std::chrono::seconds> socketTimeout;  ///< unset: the server's Timeout
    std::chrono::seconds shutdownTimeout{5};            ///< mod_wsgi's default

    std::string socketPath;          ///< set by post_config
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
    std::string socketPrefix;              ///< "" = "<DefaultRuntimeDir>/wsgid"
    std::string pythonHome;                ///< WSGIPythonHome
    std::vector<std::string> pythonPath;   ///< WSGIPythonPath
    std::string daemonProgram;             ///< WSGIDaemonProgram; "" = built-in lookup

private:
    std::vector<std::unique_ptr<DaemonGroup>> groups_;
};

}  // namespace wsgid::apache
