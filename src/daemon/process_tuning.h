// SPDX-License-Identifier: Apache-2.0
// WSGIDaemonProcess cpu-priority=, stack-size= and python-eggs=: applied once at start, before the
// user switch (a negative priority needs root) and before any thread or Python exists. As in
// mod_wsgi, a value the system refuses is a warning and the daemon runs without it.
#pragma once

#include "common/log_sink.h"
#include "protocol/daemon_args.h"

namespace wsgid::daemon {

/// setpriority() for a non-zero cpuPriority (WG0243 when refused); the default stack size of every
/// thread started from now on, the request threads and the app's own (WG0244 when refused); and
/// PYTHON_EGG_CACHE for a non-empty pythonEggs. Not thread-safe (setenv): call before any thread.
void applyProcessTuning(const protocol::DaemonArgs& args, common::LogSink& log);

}  // namespace wsgid::daemon
