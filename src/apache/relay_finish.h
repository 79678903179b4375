// SPDX-License-Identifier: Apache-2.0
// How a relay to a daemon ends for the handler: each RelayOutcome mapped onto the handler's status
// (logged once, with the daemon's pid and, for a broken connection, why its daemon died), and the
// 503 of a group with no free worker.
#pragma once

#include "apache/death_records.h"
#include "apache/request_attempts.h"
#include "apache/response_buffering.h"

struct request_rec;

namespace wsgid::apache {

class ApacheBodySource;
class ApacheResponseSink;
class DaemonConnection;
struct DaemonGroup;
struct RelayResult;

/// 503 for a group with no worker free in time, with a Retry-After the client may honour.
int groupBusy(request_rec* r);

/// How the module takes `group`'s responses (header-buffer-size=, response-buffer-size=,
/// response-flush-delay=).
ResponseBuffering responseBufferingFor(const DaemonGroup& group) noexcept;

/// How a request of `group` is run (request_attempts.h): its processes, buffering, load table.
AttemptOptions attemptOptionsFor(const DaemonGroup& group) noexcept;

/// Maps how a relay ended onto the handler's return value, logging once. `conn` is the
/// connection the relay ran on (nullptr if none), `sentAt` when the request was sent: a daemon
/// death recorded after it explains a broken connection. Request thread only (it may wait up to
/// two seconds for that record).
int finishRelay(request_rec* r, const DaemonGroup& group, const DaemonConnection* conn,
                const RelayResult& result, const ApacheBodySource& source, ApacheResponseSink& sink,
                DeathClock::time_point sentAt);

}  // namespace wsgid::apache
