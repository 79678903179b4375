// SPDX-License-Identifier: Apache-2.0
// Request ids for requests httpd made no log id for (RequestHead's request id): "<pid>-<n>",
// the httpd child's pid and a per-process count from 1. The pid is taken once per process, in
// child_init, not with a getpid() per request. No httpd calls (unit-tested).
#pragma once

#include <string>

namespace wsgid::apache {

/// child_init: records this process's pid and restarts the count. A prefork child is forked
/// from the parent after its configuration, so it must not keep a pid the parent cached: this
/// runs in every child before its first request. Thread-safe (no request runs yet anyway).
void startRequestIds() noexcept;

/// The next id of this process, "<pid>-<n>", unique within the process and, through the pid,
/// among the live processes of the server. Thread-safe. Before startRequestIds (a process that
/// never ran child_init) it takes the pid itself, once.
std::string nextRequestId();

}  // namespace wsgid::apache
