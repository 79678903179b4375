// SPDX-License-Identifier: Apache-2.0
// check_config (checkConfiguration, config.h): the implicit default group, chroot=, references
// between directives and the startup notices; the identity and daemon-file steps are in
// config_identity.cpp and config_daemon_paths.cpp. httpd parent only.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "apache/c_boundary.h"
#include "apache/config_check_impl.h"
#include "apache/config_parse.h"
#include "apache/httpd_includes.h"
#include "apache/jail_path.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

void ConfigErrors::add(const std::string& message) {
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, s_, "WG0010: %s", message.c_str());
    ++count_;
}

std::string groupLabel(const DaemonGroup& g) {
    if (g.isDefault) {
        return "the implicit default group '" + g.name + "' (WSGIPythonHome/WSGIPythonPath)";
    }
    return "WSGIDaemonProcess " + g.name + " (" + g.definedAt + ")";
}

namespace {

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

}  // namespace wsgid::apache
