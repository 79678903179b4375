// SPDX-License-Identifier: Apache-2.0
// The New Relic agent bootstrap of newrelic-config-file= / newrelic-environment= (mod_wsgi 4's
// options): newrelic.agent.initialize(file, environment) in each interpreter as it is set up,
// before any WSGI script loads in it. Without the newrelic package the process logs one error
// line naming the option and serves without the agent. No httpd headers.
#pragma once

#include <string>

#include "common/log_sink.h"

namespace wsgid::python {

/// Starts the agent in the current interpreter (GIL held). Failures are logged, never raised:
/// the app serves without monitoring rather than not at all.
void startNewRelicAgent(const std::string& configFile, const std::string& environment,
                        common::LogSink& log) noexcept;

}  // namespace wsgid::python
