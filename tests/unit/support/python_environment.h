// SPDX-License-Identifier: Apache-2.0
// The python_test binary's one Python runtime (a ::testing::Environment starts it before the
// first test and shuts it down after the last) and helpers to run small WSGI apps written to
// temporary files.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "python/request_io.h"
#include "python/runtime.h"
#include "support/capturing_log.h"
#include "support/fake_request_io.h"
#include "support/temp_dir.h"

namespace wsgid::testing {

/// The shared runtime; valid between the environment's SetUp and TearDown.
python::Runtime& runtime();
/// A WorkerScope for the main (test) thread.
python::WorkerScope& mainWorker();
/// The runtime's log.
CapturingLog& testLog();
/// Directories the runtime was configured with: python-path entry and home.
const std::string& configuredPythonPath();
const std::string& configuredHome();

/// Writes `source` as a new uniquely named script and runs one request through it on the main
/// thread. `request.scriptFilename` is filled in; the rest of `request` is used as given.
python::CallOutcome runApp(std::string_view source, FakeRequestIo& io,
                           python::WsgiRequest request = {});

/// Removes the temporary scripts and python-path directories now, for a death-test child that
/// is about to _exit (and so never reaches the environment's TearDown). No script can be
/// written or loaded afterwards.
void removeTempFiles();

/// Writes `source` to a new uniquely named script file and returns its path.
std::string writeScript(std::string_view source);

/// A minimal GET environ (REQUEST_METHOD, SCRIPT_NAME, PATH_INFO, SERVER_NAME, ...).
std::vector<std::pair<std::string, std::string>> basicEnviron();

}  // namespace wsgid::testing
