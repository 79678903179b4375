// SPDX-License-Identifier: Apache-2.0
// Process set-up before Python starts: the user and groups the daemon runs as, and the
// environment, working directory, umask and locale that go with them. No httpd headers here.
// Every function here calls non-thread-safe libc (setenv, setlocale): call before any thread.
#pragma once

#include <optional>
#include <string>

#include <sys/types.h>

#include "common/log_sink.h"
#include "common/status.h"
#include "protocol/daemon_args.h"

namespace wsgid::daemon {

/// A user's passwd entry, as far as the daemon needs it.
struct PasswdEntry {
    std::string name;
    std::string home;
    gid_t gid = 0;
};

/// The passwd entry of `uid`; std::nullopt when there is none.
std::optional<PasswdEntry> lookupUser(uid_t uid);

/// When started as root with --uid/--gid: enters the chroot= jail (after reading the user's
/// groups, before any privilege is dropped), sets the supplementary groups (the given list, else
/// the user's groups as initgroups() would), then the gid, then the uid, and verifies that root
/// cannot be regained. A jail without a uid/gid is entered all the same. Returns whether the uid
/// was switched. Not root: logs a warning when a different uid was asked for (httpd itself runs
/// unprivileged then) and changes nothing. Any failure is an error the caller treats as a startup
/// failure: a daemon must never serve as the wrong user.
common::Result<bool> switchUser(const protocol::DaemonArgs& args, common::LogSink& log);

/// Where the daemon works: --home when given (`fromHomeOption`), else the user's passwd home
/// when the user was switched, else nowhere (stay in the inherited directory).
struct WorkingDirectory {
    std::string path;  ///< empty: do not chdir
    bool fromHomeOption = false;
};

/// Pure choice of the working directory (see WorkingDirectory).
WorkingDirectory chooseWorkingDirectory(const std::string& homeOption, bool userSwitched,
                                        const std::optional<PasswdEntry>& user);

/// After switchUser: HOME/USER/LOGNAME for the user we run as (the parent passes none), chdir,
/// umask, LANG/LC_ALL and setlocale. A --home that cannot be entered is an error; a missing passwd
/// home is a warning.
common::Status applyProcessSettings(const protocol::DaemonArgs& args, bool userSwitched,
                                    common::LogSink& log);

}  // namespace wsgid::daemon
