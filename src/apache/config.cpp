// SPDX-License-Identifier: Apache-2.0
// Configuration records: create/merge of the per-server and per-directory records, and the
// GroupRegistry attached to pconf. No directive parsing here (the *_directives.cpp handlers,
// config_parse.cpp).
#include "apache/config.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apache/c_boundary.h"
#include "apache/config_parse.h"
#include "apache/httpd_includes.h"
#include "apache/jail_path.h"
#include "apache/socket_directory.h"
// httpd_includes.h first: apr_raii.h needs the APR pool API.
#include "apache/apr_raii.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// pconf userdata key of the GroupRegistry.
constexpr const char* kRegistryKey = "wsgid::GroupRegistry";

template <typename T>
T* pcallocRecord(apr_pool_t* p) noexcept {
    static_assert(std::is_trivially_destructible_v<T>);
    return static_cast<T*>(apr_pcalloc(p, sizeof(T)));
}

Flag mergeFlag(Flag base, Flag add) noexcept {
    return add != Flag::Unset ? add : base;
}

const char* mergeString(const char* base, const char* add) noexcept {
    return add != nullptr ? add : base;
}

}  // namespace

GroupRegistry& GroupRegistry::get(apr_pool_t* pconf) {
    void* data = nullptr;
    apr_pool_userdata_get(&data, kRegistryKey, pconf);
    if (data != nullptr) {
        return *static_cast<GroupRegistry*>(data);
    }
    auto* registry = attachToPool(pconf, std::make_unique<GroupRegistry>());
    // No userdata cleanup: attachToPool's cleanup deletes the object.
    apr_pool_userdata_setn(registry, kRegistryKey, nullptr, pconf);
    return *registry;
}

DaemonGroup* GroupRegistry::add(std::unique_ptr<DaemonGroup> group) {
    if (find(group->name) != nullptr) {
        return nullptr;
    }
    groups_.push_back(std::move(group));
    return groups_.back().get();
}

const DaemonGroup* GroupRegistry::find(std::string_view name) const noexcept {
    const auto it = std::find_if(groups_.begin(), groups_.end(),
                                 [&](const auto& g) { return g->name == name; });
    return it == groups_.end() ? nullptr : it->get();
}

DaemonGroup* GroupRegistry::find(std::string_view name) noexcept {
    return const_cast<DaemonGroup*>(std::as_const(*this).find(name));
}

void* createDirConfig(apr_pool_t* p, char* /*dir*/) noexcept {
    auto* c = pcallocRecord<DirConfig>(p);
    c->passAuthorization = Flag::Unset;
    c->chunkedRequest = Flag::Unset;
    c->scriptReloading = Flag::Unset;
    c->mapHeadToGet = HeadMapping::Unset;
    c->errorOverride = Flag::Unset;
    c->enableSendfile = Flag::Unset;
    c->ignoreActivity = Flag::Unset;
    return c;
}

void* mergeDirConfig(apr_pool_t* p, void* baseV, void* addV) noexcept {
    const auto* base = static_cast<const DirConfig*>(baseV);
    const auto* add = static_cast<const DirConfig*>(addV);
    auto* c = pcallocRecord<DirConfig>(p);
    c->processGroup = mergeString(base->processGroup, add->processGroup);
    c->applicationGroup = mergeString(base->applicationGroup, add->applicationGroup);
    c->callableObject = mergeString(base->callableObject, add->callableObject);
    c->passAuthorization = mergeFlag(base->passAuthorization, add->passAuthorization);
    c->chunkedRequest = mergeFlag(base->chunkedRequest, add->chunkedRequest);
    // The inner scope's handler scripts are found first.
    if (add->handlerScripts == nullptr || base->handlerScripts == nullptr) {
        c->handlerScripts =
            add->handlerScripts != nullptr ? add->handlerScripts : base->handlerScripts;
    } else {
        c->handlerScripts = apr_array_append(p, add->handlerScripts, base->handlerScripts);
    }
    c->restrictProcess =
        add->restrictProcess != nullptr ? add->restrictProcess : base->restrictProcess;
    c->scriptReloading = mergeFlag(base->scriptReloading, add->scriptReloading);
    c->mapHeadToGet =
        add->mapHeadToGet != HeadMapping::Unset ? add->mapHeadToGet : base->mapHeadToGet;
    c->errorOverride = mergeFlag(base->errorOverride, add->errorOverride);
    c->enableSendfile = mergeFlag(base->enableSendfile, add->enableSendfile);
    c->ignoreActivity = mergeFlag(base->ignoreActivity, add->ignoreActivity);
    c->trustedProxyHeaders =
        add->trustedProxyHeaders != nullptr ? add->trustedProxyHeaders : base->trustedProxyHeaders;
    c->trustedProxies = add->trustedProxies != nullptr ? add->trustedProxies : base->trustedProxies;
    c->accessScript = add->accessScript != nullptr ? add->accessScript : base->accessScript;
    c->authUserScript = add->authUserScript != nullptr ? add->authUserScript : base->authUserScript;
    c->authGroupScript =
        add->authGroupScript != nullptr ? add->authGroupScript : base->authGroupScript;
    c->dispatchScript = add->dispatchScript != nullptr ? add->dispatchScript : base->dispatchScript;
    return c;
}

void* createServerConfig(apr_pool_t* p, server_rec* /*s*/) noexcept {
    auto* c = pcallocRecord<ServerConfig>(p);
    c->aliases = apr_array_make(p, 4, sizeof(ScriptAlias));
    c->passAuthorization = Flag::Unset;
    c->chunkedRequest = Flag::Unset;
    return c;
}

void* mergeServerConfig(apr_pool_t* p, void* baseV, void* addV) noexcept {
    const auto* base = static_cast<const ServerConfig*>(baseV);
    const auto* add = static_cast<const ServerConfig*>(addV);
    auto* c = pcallocRecord<ServerConfig>(p);
    // First match wins at request time, so the vhost's own mounts come first.
    c->aliases = apr_array_append(p, add->aliases, base->aliases);
    c->processGroup = mergeString(base->processGroup, add->processGroup);
    c->applicationGroup = mergeString(base->applicationGroup, add->applicationGroup);
    c->passAuthorization = mergeFlag(base->passAuthorization, add->passAuthorization);
    c->chunkedRequest = mergeFlag(base->chunkedRequest, add->chunkedRequest);
    return c;
}

namespace {

/// Collects configtest errors: each is logged at once (so all of them show, not just the first).
class ConfigErrors {
public:
    explicit ConfigErrors(server_rec* s) : s_(s) {}
    void add(const std::string& message) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, s_, "WG0010: %s", message.c_str());
        ++count_;
    }
    [[nodiscard]] bool any() const noexcept { return count_ > 0; }

private:
    server_rec* s_;
    int count_ = 0;
};

std::string groupLabel(const DaemonGroup& g) {
    if (g.isDefault) {
        return "the implicit default group '" + g.name + "' (WSGIPythonHome/WSGIPythonPath)";
    }
    return "WSGIDaemonProcess " + g.name + " (" + g.definedAt + ")";
}

/// "#123" -> 123; otherwise std::nullopt.
std::optional<long> numericId(const std::string& value) {
    if (value.size() < 2 || value.front() != '#') {
        return std::nullopt;
    }
    auto n = parseInteger("id", std::string_view(value).substr(1), 0, 0x7fffffff);
    return n ? std::optional<long>(n.value()) : std::nullopt;
}

/// Resolves a group name or #gid; the error says what to change.
std::optional<gid_t> resolveGid(const std::string& value, const std::string& what,
                                ConfigErrors& errors) {
    if (auto n = numericId(value)) {
        return static_cast<gid_t>(*n);
    }
    const struct group* gr = ::getgrnam(value.c_str());  // NOLINT(concurrency-mt-unsafe): parent
    if (gr == nullptr) {
        errors.add(what + ": group '" + value + "' does not exist; create it or name another");
        return std::nullopt;
    }
    return gr->gr_gid;
}

/// user=, group= and supplementary-groups= to ids (only meaningful when httpd runs as root).
void resolveIdentity(DaemonGroup& g, ConfigErrors& errors) {
    const std::string what = groupLabel(g);
    if (!g.user.empty()) {
        const struct passwd* pw = nullptr;  // NOLINT(concurrency-mt-unsafe): single-threaded parent
        if (auto n = numericId(g.user)) {
            pw = ::getpwuid(static_cast<uid_t>(*n));  // NOLINT(concurrency-mt-unsafe)
            g.uid = static_cast<uid_t>(*n);
        } else {
            pw = ::getpwnam(g.user.c_str());  // NOLINT(concurrency-mt-unsafe)
            if (pw == nullptr) {
                errors.add(what + ": user '" + g.user +
                           "' does not exist; create it or change the user= option");
                return;
            }
            g.uid = pw->pw_uid;
        }
        if (*g.uid == 0 && !g.allowRoot) {
            errors.add(what + ": user '" + g.user +
                       "' is root; name an unprivileged user, or add allow-root=On if root is "
                       "really meant");
            return;
        }
        g.userName = pw != nullptr ? pw->pw_name : "";
        if (pw != nullptr) {
            g.gid = pw->pw_gid;
        } else if (g.group.empty()) {
            errors.add(what + ": user '" + g.user +
                       "' has no passwd entry, so its primary group is unknown; add group=");
            return;
        }
    } else {
        g.uid = ap_unixd_config.user_id;
        g.gid = ap_unixd_config.group_id;
        g.userName = ap_unixd_config.user_name != nullptr ? ap_unixd_config.user_name : "";
    }
    if (!g.group.empty()) {
        if (auto gid = resolveGid(g.group, what + " group=", errors)) {
            g.gid = *gid;
        }
    }
    g.supplementaryGids.clear();
    std::string_view rest = g.supplementaryGroups;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string item(rest.substr(0, comma));
        if (auto gid = resolveGid(item, what + " supplementary-groups=", errors)) {
            g.supplementaryGids.push_back(*gid);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
}

/// script-user= and script-group= to ids; checked whether or not httpd runs as root, since
/// they only compare a script file's owner.
void resolveScriptOwner(DaemonGroup& g, ConfigErrors& errors) {
    const std::string what = groupLabel(g);
    if (!g.scriptUser.empty()) {
        if (auto n = numericId(g.scriptUser)) {
            g.scriptUid = static_cast<uid_t>(*n);
        } else if (const struct passwd* pw = ::getpwnam(g.scriptUser.c_str());  // NOLINT
                   pw != nullptr) {
            g.scriptUid = pw->pw_uid;
        } else {
            errors.add(what + ": script-user '" + g.scriptUser +
                       "' does not exist; name the user that owns the group's WSGI scripts");
        }
    }
    if (!g.scriptGroup.empty()) {
        g.scriptGid = resolveGid(g.scriptGroup, what + " script-group=", errors);
    }
}

/// socket-user= to a uid (only when httpd runs as root: otherwise the socket stays its own).
void resolveSocketUser(DaemonGroup& g, ConfigErrors& errors) {
    if (g.socketUser.empty()) {
        return;
    }
    if (auto n = numericId(g.socketUser)) {
        g.socketUid = static_cast<uid_t>(*n);
    } else if (const struct passwd* pw = ::getpwnam(g.socketUser.c_str());  // NOLINT
               pw != nullptr) {
        g.socketUid = pw->pw_uid;
    } else {
        errors.add(groupLabel(g) + ": socket-user '" + g.socketUser +
                   "' does not exist; name the user the httpd children connect as");
    }
}

bool isExecutableFile(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

/// A module loaded from a libtool build tree (<builddir>/.libs/mod_wsgid.so) uses the daemon of
/// that tree (<builddir>/wsgid-daemon), so tests and development never need `make install`.
std::string buildTreeDaemon() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&checkConfiguration), &info) == 0 ||
        info.dli_fname == nullptr) {
        return {};
    }
    std::string so = info.dli_fname;
    const auto slash = so.rfind('/');
    if (slash == std::string::npos) {
        return {};
    }
    const std::string dir = so.substr(0, slash);
    static constexpr std::string_view kLibtoolDir = "/.libs";
    if (dir.size() < kLibtoolDir.size() ||
        dir.compare(dir.size() - kLibtoolDir.size(), kLibtoolDir.size(), kLibtoolDir) != 0) {
        return {};
    }
    const std::string candidate = dir.substr(0, dir.size() - kLibtoolDir.size()) + "/wsgid-daemon";
    if (!isExecutableFile(candidate)) {
        return {};
    }
    char resolved[PATH_MAX];
    return ::realpath(candidate.c_str(), resolved) != nullptr ? std::string(resolved) : candidate;
}

void chooseDaemonBinary(GroupRegistry& registry, ConfigErrors& errors) {
    if (!registry.daemonProgram.empty()) {
        if (!isExecutableFile(registry.daemonProgram)) {
            errors.add("WSGIDaemonProgram '" + registry.daemonProgram +
                       "' is not an executable file; fix the path or remove the directive to "
                       "use the installed wsgid-daemon");
        }
        registry.daemonBinary = registry.daemonProgram;
        return;
    }
    if (std::string fromTree = buildTreeDaemon(); !fromTree.empty()) {
        registry.daemonBinary = fromTree;
        return;
    }
    registry.daemonBinary = WSGID_DAEMON_PATH;
    if (!isExecutableFile(registry.daemonBinary)) {
        errors.add("the daemon program " + registry.daemonBinary +
                   " is missing or not executable; run `make install`, or point "
                   "WSGIDaemonProgram at a wsgid-daemon binary");
    }
}

/// Who may own the socket directory: root, and the user of a httpd not started as root.
TrustedOwners trustedSocketOwners() {
    TrustedOwners trusted;
    if (const uid_t self = ::geteuid(); self != 0) {
        trusted.extraUid = self;
        const struct passwd* pw = ::getpwuid(self);  // NOLINT(concurrency-mt-unsafe): parent
        trusted.extraName = pw != nullptr ? pw->pw_name : "";
    }
    return trusted;
}

void resolveSocketPrefix(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry,
                         ConfigErrors& errors, bool logNotices) {
    const bool configured = !registry.socketPrefix.empty();
    if (!configured) {
        registry.socketPrefix = ap_runtime_dir_relative(pconf, "wsgid");
    }
    const std::string dir = socketDirectoryOf(registry.socketPrefix);
    const std::string what = configured ? "WSGISocketPrefix " + registry.socketPrefix
                                        : "DefaultRuntimeDir " + dir + " (the daemon sockets)";
    const TrustedOwners trusted = trustedSocketOwners();
    const auto verdict =
        checkSocketDirectory(what, dir, trusted, socketDirectoryAdvice(configured, trusted));
    if (verdict.code() == common::ErrorCode::NotFound) {
        // Not an error: Debian's apache2ctl creates the runtime directory just before start,
        // and the check runs again then.
        if (logNotices) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                         "WG0011: the directory of the daemon sockets, %s, does not exist yet; "
                         "create it or change WSGISocketPrefix / DefaultRuntimeDir",
                         dir.c_str());
        }
    } else if (!verdict) {
        errors.add(verdict.message());
    }
    for (const auto& g : registry.groups()) {
        const std::size_t len = worstCaseSocketPathLength(registry.socketPrefix, g->name);
        if (len > kMaxSocketPathBytes) {
            errors.add(groupLabel(*g) + ": its socket path would be up to " + std::to_string(len) +
                       " bytes, above the " + std::to_string(kMaxSocketPathBytes) +
                       "-byte limit of Unix socket paths; shorten WSGISocketPrefix (now '" +
                       registry.socketPrefix + "') or the group name");
        }
    }
}

const char* serverNameOf(const server_rec* s) {
    return s != nullptr && s->server_hostname != nullptr ? s->server_hostname : "";
}

/// Whether a GroupReference's directive only loads a script at process start (WSGIImportScript),
/// the one use a threads=0 group has.
bool isServiceScriptReference(std::string_view directive) {
    return directive.starts_with("WSGIImportScript");
}

/// chroot=: an existing directory that only root may change (a tenant able to write its own
/// root could plant files there: a fake /etc/passwd, a Python module), entered by a daemon
/// started as root. The group's preload scripts must be inside it; they are rewritten to the
/// paths the daemon sees. home= and python-home= are paths inside the jail.
void checkChroot(DaemonGroup& g, bool asRoot, ConfigErrors& errors) {
    if (g.chroot.empty()) {
        return;
    }
    const std::string what = groupLabel(g) + ": chroot=" + g.chroot;
    if (!asRoot) {
        errors.add(what +
                   " needs httpd started as root (only root may chroot); remove the "
                   "option or start httpd as root");
        return;
    }
    struct stat st {};
    if (::stat(g.chroot.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        errors.add(what +
                   " is not an existing directory; create the jail (see chroot= in "
                   "docs/configuration.md) or fix the path");
        return;
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        errors.add(what +
                   " must be owned by root and writable by no one else, or the daemon's "
                   "user could plant files in its own root; run chown root: " +
                   g.chroot + " && chmod go-w " + g.chroot);
        return;
    }
    for (std::string& entry : g.preload) {
        const auto bar = entry.rfind('|');
        const std::string script = entry.substr(0, bar);
        const auto inside = pathInJail(g.chroot, script);
        if (!inside) {
            std::string message = what + ": the script ";
            message += script;
            message +=
                " (WSGIImportScript or a preloading WSGIScriptAlias) is outside the jail; "
                "move it inside ";
            message += g.chroot;
            errors.add(message);
            continue;
        }
        entry = *inside + (bar == std::string::npos ? std::string() : entry.substr(bar));
    }
}

/// threads=0: a service-script daemon needs something to run.
void checkServiceGroup(const DaemonGroup& g, ConfigErrors& errors) {
    if (g.threads == 0 && g.preload.empty()) {
        errors.add(groupLabel(g) +
                   ": threads=0 makes a service-script daemon, but no WSGIImportScript names "
                   "process-group=" +
                   g.name +
                   ", so it would do nothing; add WSGIImportScript /path/to/script.py "
                   "process-group=" +
                   g.name + " application-group=%{GLOBAL}, or give the group threads=1 or more");
    }
}

void checkReferences(const GroupRegistry& registry, ConfigErrors& errors) {
    for (const auto& ref : registry.references) {
        const DaemonGroup* g = registry.find(ref.name);
        if (g == nullptr) {
            errors.add(std::string(ref.directive) + " '" + ref.name + "' at " + ref.where +
                       " names no daemon process group; define it with WSGIDaemonProcess " +
                       ref.name + " ... or correct the name");
            continue;
        }
        if (g->threads == 0 && !isServiceScriptReference(ref.directive)) {
            errors.add(std::string(ref.directive) + " '" + ref.name + "' at " + ref.where +
                       " sends requests to a group that takes none: " + groupLabel(*g) +
                       " has threads=0 and only runs its WSGIImportScript service scripts; "
                       "send the requests to a group with threads=1 or more");
            continue;
        }
        // A vhost's group serves only vhosts with the same ServerName (mod_wsgi's rule). A
        // reference outside any vhost may apply to any of them, so it is checked per request.
        if (!g->serverName.empty() && ref.server != nullptr && ref.server->is_virtual != 0 &&
            g->serverName != serverNameOf(ref.server)) {
            errors.add(std::string(ref.directive) + " '" + ref.name + "' at " + ref.where +
                       " is in the virtual host " + serverNameOf(ref.server) +
                       ", but the group was defined at " + g->definedAt + " for ServerName " +
                       g->serverName + "; define the group outside <VirtualHost> to share it");
        }
    }
}

void logNoticesOnce(const GroupRegistry& registry, server_rec* s) {
    for (const auto& line : registry.ignoredDirectives) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_NOTICE, 0, s, "WG0013: %s", line.c_str());
    }
}

}  // namespace

/// Whether a WSGIScriptAlias of any server may run in the default group: it has no
/// process-group= and its server's merged WSGIProcessGroup is not a literal name. (A
/// <Directory>-level %{GLOBAL} is caught by noteProcessGroup; a <Directory>-level literal group
/// cannot be matched to an alias statically, so such aliases count as possibly default.)
bool someAliasMayUseDefaultGroup(server_rec* main,
                                 const std::vector<server_rec*>& handlerScriptServers) noexcept {
    for (server_rec* s = main; s != nullptr; s = s->next) {
        const ServerConfig* c = getServerConfig(s);
        if (c == nullptr) {
            continue;
        }
        // Only a literal name is sure to cover the alias: %{GLOBAL} is the default group, and an
        // %{ENV:...} value is known only per request.
        const bool serverHasGroup =
            c->processGroup != nullptr && !std::string_view(c->processGroup).starts_with("%{");
        if (!serverHasGroup && std::find(handlerScriptServers.begin(), handlerScriptServers.end(),
                                         s) != handlerScriptServers.end()) {
            return true;
        }
        if (c->aliases == nullptr) {
            continue;
        }
        const auto* aliases = reinterpret_cast<const ScriptAlias*>(c->aliases->elts);
        for (int i = 0; i < c->aliases->nelts; ++i) {
            if (aliases[i].processGroup == nullptr && !serverHasGroup) {
                return true;
            }
        }
    }
    return false;
}

bool checkConfiguration(apr_pool_t* pconf, server_rec* s, bool logNotices) noexcept {
    const auto failed = [s](const char* what) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "WG0001: exception while checking the configuration: %s", what);
    };
    return guardedWith(failed, false, [&] {
        auto& registry = GroupRegistry::get(pconf);
        ConfigErrors errors(s);

        // The implicit default group (DESIGN: Python never runs inside httpd): created when a
        // directive names %{GLOBAL}, or when some WSGIScriptAlias names no process group and its
        // (merged) server has no WSGIProcessGroup either, because such requests may reach no
        // other group. A config whose every alias is covered gets no idle default daemon.
        if ((registry.defaultGroupWanted ||
             someAliasMayUseDefaultGroup(s, registry.handlerScriptServers)) &&
            registry.find(GroupRegistry::kDefaultGroupName) == nullptr) {
            auto g = std::make_unique<DaemonGroup>();
            g->name = GroupRegistry::kDefaultGroupName;
            g->isDefault = true;
            g->pythonPath = registry.pythonPath;
            g->pythonEggs = registry.pythonEggs;
            g->definedAt = "WSGIScriptAlias without process-group";
            registry.add(std::move(g));
        }
        for (const auto& p : registry.pendingPreloads) {
            if (DaemonGroup* g = registry.find(p.group); g != nullptr) {
                if (std::find(g->preload.begin(), g->preload.end(), p.entry) == g->preload.end()) {
                    g->preload.push_back(p.entry);
                }
            }
        }

        const bool asRoot = ::geteuid() == 0;
        bool warnedNotRoot = false;
        for (const auto& gp : registry.groups()) {
            DaemonGroup& g = *gp;
            g.serverName =
                g.server != nullptr && g.server->is_virtual != 0 ? serverNameOf(g.server) : "";
            resolveScriptOwner(g, errors);
            if (asRoot) {
                resolveIdentity(g, errors);
                resolveSocketUser(g, errors);
            } else if ((!g.user.empty() || !g.group.empty()) && !warnedNotRoot && logNotices) {
                warnedNotRoot = true;
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                             "WG0014: httpd does not run as root, so user= and group= of "
                             "WSGIDaemonProcess are ignored (first: %s)",
                             groupLabel(g).c_str());
            }
            if (g.pythonHome.empty()) {
                g.pythonHome = registry.pythonHome;
            }
            checkChroot(g, asRoot, errors);
            // Inside a jail the paths are the daemon's; configtest looks at them from outside.
            const std::string jail = g.chroot.empty() || g.chroot == "/" ? "" : g.chroot;
            if (!g.pythonHome.empty()) {
                const std::string what =
                    g.pythonHome == registry.pythonHome && !registry.pythonHome.empty()
                        ? groupLabel(g) + ": WSGIPythonHome"
                        : groupLabel(g) + ": python-home";
                if (auto st = checkPythonHome(what, jail + g.pythonHome, WSGID_PYTHON_VERSION);
                    !st) {
                    errors.add(st.message());
                }
            }
            if (!g.home.empty()) {
                if (auto st = checkDirectory(groupLabel(g) + ": home", jail + g.home); !st) {
                    errors.add(st.message());
                }
            }
            checkServiceGroup(g, errors);
        }
        checkReferences(registry, errors);
        for (const InterpreterSection& section : registry.interpreterSections) {
            if (section.processGroup && registry.find(*section.processGroup) == nullptr) {
                errors.add("<WSGIInterpreterOptions> at " + std::string(section.definedAt) +
                           " names process-group '" + *section.processGroup +
                           "', which no WSGIDaemonProcess defines (and no mount uses, for "
                           "%{GLOBAL}); correct the name or remove the section");
            }
        }
        if (!registry.groups().empty()) {
            resolveSocketPrefix(pconf, s, registry, errors, logNotices);
            chooseDaemonBinary(registry, errors);
        }
        if (logNotices) {
            logNoticesOnce(registry, s);
        }
        return !errors.any();
    });
}

const ServerConfig* getServerConfig(const server_rec* s) noexcept {
    return static_cast<const ServerConfig*>(ap_get_module_config(s->module_config, &wsgid_module));
}

const DirConfig* getDirConfig(ap_conf_vector_t* perDirConfig) noexcept {
    return static_cast<const DirConfig*>(ap_get_module_config(perDirConfig, &wsgid_module));
}

}  // namespace wsgid::apache
