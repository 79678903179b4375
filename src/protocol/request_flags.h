// SPDX-License-Identifier: Apache-2.0
// The per-request settings the module passes to the daemon as mod_wsgi.* environ entries
// (mod_wsgi's own keys, which apps have always seen), so the RequestHead format needs no field for
// them. The module always sets all of them, before any SetEnv variable, so configuration of the
// request's scope decides and nothing else. Pure: no syscalls, no httpd, no Python.
#pragma once

#include <string_view>
#include <vector>

#include "protocol/request_head.h"

namespace wsgid::protocol {

/// WSGIScriptReloading: "1" (default) reloads a script whose modification time changed, "0"
/// keeps the loaded one.
inline constexpr std::string_view kScriptReloadingKey = "mod_wsgi.script_reloading";
/// WSGIEnableSendfile: "1" (the default) lets the daemon send a wsgi.file_wrapper response as a
/// File frame (its descriptor, which httpd sends with sendfile); "0" streams it as Body frames.
inline constexpr std::string_view kEnableSendfileKey = "mod_wsgi.enable_sendfile";
/// WSGIIgnoreActivity: "1" when the request must not count as activity for the daemon's
/// inactivity-timeout= (health checks and the like).
inline constexpr std::string_view kIgnoreActivityKey = "mod_wsgi.ignore_activity";

/// The flag `key` in `environ`: true for "1", false for "0" or any other value, `dflt` when the
/// key is absent. The first entry with the key counts (the module's).
inline bool environFlag(const std::vector<EnvEntry>& environ, std::string_view key,
                        bool dflt) noexcept {
    for (const auto& [k, v] : environ) {
        if (k == key) {
            return v == "1";
        }
    }
    return dflt;
}

/// WSGIIgnoreActivity of a request (for the daemon's inactivity-timeout=).
inline bool ignoresActivity(const RequestHead& head) noexcept {
    return environFlag(head.environ, kIgnoreActivityKey, false);
}

/// WSGIEnableSendfile of a request: the daemon may answer it with a File frame, and the module
/// accepts one only then.
inline bool passesFiles(const RequestHead& head) noexcept {
    return environFlag(head.environ, kEnableSendfileKey, true);
}

/// WSGIScriptReloading of a request.
inline bool scriptReloading(const RequestHead& head) noexcept {
    return environFlag(head.environ, kScriptReloadingKey, true);
}

}  // namespace wsgid::protocol
