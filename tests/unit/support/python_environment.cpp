// SPDX-License-Identifier: Apache-2.0
// The python_test environment (see python_environment.h): one Runtime for the whole binary,
// because CPython cannot be initialized twice in a process.
#include "support/python_environment.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <stdlib.h>

namespace wsgid::testing {

namespace {

// Generous: finalization in the tests joins nothing slow; the bound only matters if it hangs.
constexpr auto kShutdownTimeout = std::chrono::seconds(60);

struct Globals {
    CapturingLog log;
    std::unique_ptr<TempDir> dir;  // scripts, python-path and home
    std::string pythonPath;
    std::string home;
    std::unique_ptr<python::Runtime> runtime;
    std::unique_ptr<python::WorkerScope> worker;
    std::atomic<int> scriptCounter{0};
};

Globals& globals() {
    static Globals g;
    return g;
}

class PythonEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        Globals& g = globals();
        g.dir = std::make_unique<TempDir>();
        // python-path: a module, and a .pth file that adds a second directory (site.addsitedir
        // processes .pth files).
        g.pythonPath = g.dir->path() + "/site";
        g.dir->write("site/wsgid_path_probe.py", "WHERE = 'python-path'\n");
        g.dir->write("site/extra.pth", "extra\n");
        g.dir->write("site/extra/wsgid_pth_probe.py", "WHERE = 'pth'\n");
        g.home = g.dir->path() + "/home";
        g.dir->write("home/wsgid_home_probe.py", "WHERE = 'home'\n");

        python::RuntimeConfig config;
        config.pythonPath = {g.pythonPath};
        config.home = g.home;
        config.processGroup = "test-group";
        config.threads = 4;
        config.multiprocess = true;
        config.log = &g.log;
        // Short, so the tests of an app thread stuck past the end of its request stay quick.
        config.inFlightGrace = std::chrono::milliseconds(300);
        auto started = python::Runtime::start(config);
        ASSERT_TRUE(started.isOk()) << started.status().message();
        g.runtime = std::move(started).value();
        g.worker = std::make_unique<python::WorkerScope>(*g.runtime);
    }

    void TearDown() override {
        Globals& g = globals();
        g.worker.reset();
        if (g.runtime) {
            g.runtime->shutdown(kShutdownTimeout);
            g.runtime.reset();
        }
        g.dir.reset();
    }
};

const ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PythonEnvironment);

}  // namespace

python::Runtime& runtime() {
    return *globals().runtime;
}
python::WorkerScope& mainWorker() {
    return *globals().worker;
}
CapturingLog& testLog() {
    return globals().log;
}
const std::string& configuredPythonPath() {
    return globals().pythonPath;
}
const std::string& configuredHome() {
    return globals().home;
}

void removeTempFiles() {
    globals().dir.reset();
}

std::string writeScript(std::string_view source) {
    Globals& g = globals();
    const int n = ++g.scriptCounter;
    return g.dir->write("scripts/app" + std::to_string(n) + ".wsgi", source);
}

python::CallOutcome runApp(std::string_view source, FakeRequestIo& io,
                           python::WsgiRequest request) {
    request.scriptFilename = writeScript(source);
    if (request.environ.empty()) {
        request.environ = basicEnviron();
    }
    if (request.requestId.empty()) {
        request.requestId = "req-test";
    }
    return runtime().handle(mainWorker(), request, io);
}

std::vector<std::pair<std::string, std::string>> basicEnviron() {
    return {
        {"REQUEST_METHOD", "GET"},       {"SCRIPT_NAME", "/app"},      {"PATH_INFO", "/hello"},
        {"QUERY_STRING", "a=1"},         {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
    };
}

}  // namespace wsgid::testing
