// SPDX-License-Identifier: Apache-2.0
// Paths of a chroot= daemon group: a file httpd sees at /srv/jail/app/x.wsgi is /app/x.wsgi to a
// daemon chrooted to /srv/jail. Pure: no syscalls (symbolic links are not followed; configtest
// and the operator's layout are what keep them inside).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgid::apache {

/// `path` (absolute, as httpd sees it) as seen inside the jail `jail` (absolute, chroot=):
/// "/srv/jail/app/x.wsgi" -> "/app/x.wsgi", "/srv/jail" -> "/". nullopt when `path` is not inside
/// the jail ("/srv/jailbreak/x", "/etc/passwd", a relative path) or has a ".." component that
/// could climb out of it. Trailing slashes of `jail` are ignored; "/" as jail keeps the path.
std::optional<std::string> pathInJail(std::string_view jail, std::string_view path);

}  // namespace wsgid::apache
