// SPDX-License-Identifier: Apache-2.0
// python_request_cost: the CPU time one request costs the Python layer (Runtime::handle with a
// request head like the module sends for a plain GET, and a RequestIo that discards the
// response), on one thread, without httpd, sockets or other threads. It measures what the
// Python side of the daemon spends per request, steadily even on a busy machine (thread CPU
// time, median of rounds), to compare two builds: build it in each (`make
// python_request_cost`) and run both. Not a test: it asserts nothing about the figures.
//
//   ./python_request_cost [--app hello|flask|file] [--requests N] [--rounds R]
//
// `file` is the benchmark's 1 MiB wsgi.file_wrapper app: the descriptor is passed (and closed
// by the RequestIo here), so it measures what deciding to pass a file costs, not any reading.
#include "python/python.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "common/log_sink.h"
#include "common/unique_fd.h"
#include "python/request_io.h"
#include "python/runtime.h"

namespace {

using namespace wsgid;

constexpr const char* kHelloApp = R"PY(
def application(environ, start_response):
    body = b'Hello world!'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
)PY";

constexpr const char* kFlaskApp = R"PY(
from flask import Flask, jsonify
application = Flask(__name__)
@application.route('/')
def index():
    return jsonify(message='Hello world!', items=[1, 2, 3])
)PY";

// Keeps the log quiet: a request that fails shows in the outcome instead.
// scripts/bench/apps/file.wsgi, with the file beside the script.
constexpr const char* kFileApp = R"PY(
import os
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data.bin")
def application(environ, start_response):
    wrapper = environ["wsgi.file_wrapper"]
    f = open(DATA, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return wrapper(f)
)PY";

// The size of the benchmark's data file (scripts/bench/wsgibench/scenarios.py).
constexpr std::size_t kDataFileBytes = 1 << 20;

class NullLog final : public common::LogSink {
public:
    void log(common::LogLevel /*level*/, std::string_view /*id*/,
             std::string_view /*message*/) noexcept override {}
};

// Takes every response at once, as a connection whose socket always has room would.
class DiscardingIo final : public python::RequestIo {
public:
    std::size_t bytes = 0;
    common::Result<std::size_t> readBody(std::span<char> /*out*/) override {
        return std::size_t{0};
    }
    common::Status writeStart(
        std::string_view /*status*/,
        const std::vector<std::pair<std::string, std::string>>& /*headers*/) override {
        return common::Status::ok();
    }
    common::Status writeBody(std::string_view data) override {
        bytes += data.size();
        return common::Status::ok();
    }
    std::optional<common::Status> tryWriteStart(
        std::string_view /*status*/,
        const std::vector<std::pair<std::string, std::string>>& /*headers*/,
        bool /*more*/) override {
        return common::Status::ok();
    }
    std::optional<common::Status> tryWriteBody(std::string_view data, bool /*more*/) override {
        bytes += data.size();
        return common::Status::ok();
    }
    [[nodiscard]] bool canPassFiles() const noexcept override { return true; }
    // The descriptor is closed here, as the daemon's connection closes it once sent.
    common::Status writeFile(common::UniqueFd /*fd*/, std::uint64_t /*offset*/,
                             std::uint64_t length) override {
        bytes += length;
        return common::Status::ok();
    }
};

// What src/apache/environ.cpp sends for wrk's GET / on a keep-alive connection.
python::WsgiRequest benchRequest(const std::string& script, int n) {
    python::WsgiRequest request;
    request.scriptFilename = script;
    request.processGroup = "bench";
    request.requestId = "Z2NAbBcDeFgHiJkLmNoP" + std::to_string(n);
    request.contentLength = 0;
    request.passFiles = true;  // mod_wsgi.enable_sendfile below, as the daemon decodes it
    const std::string now = std::to_string(1765000000000000LL + n);
    request.environ = {
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"SERVER_SOFTWARE", "Apache"},
        {"SERVER_NAME", "127.0.0.1"},
        {"SERVER_PORT", "8080"},
        {"SERVER_ADDR", "127.0.0.1"},
        {"SERVER_ADMIN", "[no address given]"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REQUEST_SCHEME", "http"},
        {"REQUEST_METHOD", "GET"},
        {"REQUEST_URI", "/"},
        {"mod_wsgi.script_name", ""},
        {"mod_wsgi.path_info", "/"},
        {"SCRIPT_NAME", ""},
        {"PATH_INFO", "/"},
        {"QUERY_STRING", ""},
        {"SCRIPT_FILENAME", script},
        {"DOCUMENT_ROOT", "/var/www/html"},
        {"CONTEXT_PREFIX", ""},
        {"CONTEXT_DOCUMENT_ROOT", "/var/www/html"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", std::to_string(40000 + n % 16)},
        {"mod_wsgi.handler_script", ""},
        {"mod_wsgi.request_handler", "wsgi-script"},
        {"mod_wsgi.request_start", now},
        {"mod_wsgi.queue_start", now},
        {"SERVER_SIGNATURE", ""},
        {"mod_wsgi.script_reloading", "1"},
        {"mod_wsgi.enable_sendfile", "1"},
        {"mod_wsgi.ignore_activity", "0"},
        {"HTTP_HOST", "127.0.0.1:8080"},
        {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    };
    return request;
}

double threadCpuMicros() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

int run(int argc, char** argv) {
    std::string app = "hello";
    int requests = 20000;
    int rounds = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view option = argv[i];
        if (option == "--app") {
            app = argv[i + 1];
        } else if (option == "--requests") {
            requests = std::atoi(argv[i + 1]);
        } else if (option == "--rounds") {
            rounds = std::atoi(argv[i + 1]);
        }
    }
    if ((app != "hello" && app != "flask" && app != "file") || requests <= 0 || rounds <= 0) {
        std::fprintf(stderr, "usage: %s [--app hello|flask|file] [--requests N] [--rounds R]\n",
                     argv[0]);
        return 2;
    }
    char dirTemplate[] = "/tmp/python_request_cost.XXXXXX";
    if (mkdtemp(dirTemplate) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = dirTemplate;
    const std::string script = (dir / (app + ".wsgi")).string();
    std::ofstream(script) << (app == "flask" ? kFlaskApp : app == "file" ? kFileApp : kHelloApp);
    if (app == "file") {
        std::ofstream(dir / "data.bin", std::ios::binary) << std::string(kDataFileBytes, 'x');
    }

    NullLog log;
    python::RuntimeConfig config;
    config.processGroup = "bench";
    config.threads = 16;
    config.processes = 2;
    config.multiprocess = true;
    config.log = &log;
    auto started = python::Runtime::start(config);
    if (!started.isOk()) {
        std::fprintf(stderr, "Python did not start: %s\n", started.status().message().c_str());
        return 1;
    }
    std::unique_ptr<python::Runtime> runtime = std::move(started).value();
    int exitCode = 0;
    {
        python::WorkerScope worker(*runtime);
        std::vector<double> perRequest;
        int n = 0;
        // Round 0 warms up (the script's import, caches) and is not counted.
        for (int round = 0; round <= rounds && exitCode == 0; ++round) {
            double spent = 0;
            for (int i = 0; i < requests; ++i, ++n) {
                const python::WsgiRequest request = benchRequest(script, n);
                DiscardingIo io;
                const double before = threadCpuMicros();
                const python::CallOutcome outcome = runtime->handle(worker, request, io);
                spent += threadCpuMicros() - before;
                if (outcome.kind != python::CallOutcome::Kind::Completed || io.bytes == 0) {
                    std::fprintf(stderr, "request %d failed: %s\n", n, outcome.message.c_str());
                    exitCode = 1;
                    break;
                }
            }
            if (round > 0) {
                perRequest.push_back(spent / requests);
            }
        }
        if (exitCode == 0) {
            std::sort(perRequest.begin(), perRequest.end());
            std::printf("%s: %.2f us/request (median of %d rounds of %d; min %.2f, max %.2f)\n",
                        app.c_str(), perRequest[perRequest.size() / 2], rounds, requests,
                        perRequest.front(), perRequest.back());
        }
    }
    runtime->shutdown(std::chrono::seconds(10));
    std::filesystem::remove_all(dir);
    return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
    return run(argc, argv);
}
