// SPDX-License-Identifier: Apache-2.0
// The environment a daemon process starts with: an allow-list taken from httpd's, never the
// whole of it (PassEnv/SetEnv secrets, NOTIFY_SOCKET, APACHE_* settings stay in httpd). Pure: no
// httpd calls, unit-tested.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsgid::apache {

/// PATH for a daemon when httpd has none: Debian's default for non-root users.
inline constexpr std::string_view kDefaultDaemonPath = "/usr/local/bin:/usr/bin:/bin";

/// "NAME=value" entries of `parent` (an environ-style list) that a daemon may see: PATH, TZ,
/// LANG, LANGUAGE and LC_*; with `sanitizerBuild`, also the sanitizer runtimes' settings
/// (ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS, LD_PRELOAD, PYTHONMALLOC) so that a sanitized
/// daemon reports like a sanitized httpd. PATH is always present. The group's own settings
/// (lang=, locale=, the user's HOME/USER) are applied by the daemon itself.
std::vector<std::string> daemonEnvironment(const char* const* parent, bool sanitizerBuild);

}  // namespace wsgid::apache
