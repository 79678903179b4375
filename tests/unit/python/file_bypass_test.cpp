// SPDX-License-Identifier: Apache-2.0
// The wsgi.file_wrapper bypass through Runtime::handle (python/file_bypass.h, WsgiCall): which
// responses pass their file's descriptor and which are streamed, the range, the headers, close().
#include "python/python.h"

#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>

#include "support/fake_request_io.h"
#include "support/python_environment.h"
#include "support/temp_dir.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

std::string content(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return s;
}

const std::string kContent = content(100000);

python::WsgiRequest fileRequest(const std::string& path, bool passFiles = true,
                                std::string method = "GET") {
    python::WsgiRequest request;
    request.environ = basicEnviron();
    request.environ.emplace_back("WG_FILE", path);
    for (auto& [k, v] : request.environ) {
        if (k == "REQUEST_METHOD") {
            v = method;
        }
    }
    request.requestId = "req-file";
    request.passFiles = passFiles;
    return request;
}

// An app whose body is `make` (Python statements that set `f`, the wrapped object, from
// `path`) wrapped in wsgi.file_wrapper, with `headers` (a Python list expression).
std::string wrapperApp(const std::string& make, const std::string& headers = "[]",
                       const std::string& status = "200 OK") {
    return "import io, os\n"
           "def application(environ, start_response):\n"
           "    path = environ['WG_FILE']\n" +
           make + "    start_response('" + status + "', " + headers +
           ")\n"
           "    return environ['wsgi.file_wrapper'](f, 8192)\n";
}

struct FileCase {
    TempDir dir;
    std::string path = dir.write("data.bin", kContent);
    FakeRequestIo io;

    FileCase() { io.passFiles = true; }
    python::CallOutcome run(const std::string& source, bool passFiles = true) {
        return runApp(source, io, fileRequest(path, passFiles));
    }
};

TEST(FileBypass, ARegularFileIsPassedWithAContentLength) {
    FileCase fc;
    const auto outcome = fc.run(wrapperApp("    f = open(path, 'rb')\n"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 1);
    EXPECT_EQ(fc.io.fileOffset, 0U);
    EXPECT_EQ(fc.io.fileLength, kContent.size());
    EXPECT_EQ(fc.io.sent(), kContent);
    EXPECT_EQ(fc.io.header("Content-Length"), std::to_string(kContent.size()));
    EXPECT_FALSE(fc.io.bodyBeforeStart);
}

TEST(FileBypass, TheRangeStartsAtTellNotAtTheDescriptorsOffset) {
    // A buffered reader read ahead: the descriptor's offset is past tell().
    FileCase fc;
    const auto outcome =
        fc.run(wrapperApp("    f = open(path, 'rb')\n"
                          "    assert f.read(10) == b'" +
                          kContent.substr(0, 10) +
                          "'\n"
                          "    assert os.lseek(f.fileno(), 0, 1) > 10\n"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 1);
    EXPECT_EQ(fc.io.fileOffset, 10U);
    EXPECT_EQ(fc.io.sent(), kContent.substr(10));
}

TEST(FileBypass, TheAppsContentLengthBoundsTheRange) {
    FileCase fc;
    const auto outcome = fc.run(
        wrapperApp("    f = open(path, 'rb')\n    f.seek(5)\n", "[('Content-Length', '7')]"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 1);
    EXPECT_EQ(fc.io.sent(), kContent.substr(5, 7));
}

TEST(FileBypass, AContentLengthBeyondTheFileIsStreamedAndReported) {
    // Iterating sends what the file has and reports the short body, as without the bypass.
    FileCase fc;
    const auto outcome =
        fc.run(wrapperApp("    f = open(path, 'rb')\n",
                          "[('Content-Length', '" + std::to_string(kContent.size() + 1) + "')]"));
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 0);
    EXPECT_EQ(fc.io.sent(), kContent);
}

TEST(FileBypass, WriteThenAFileSendsTheRestOfTheContentLength) {
    FileCase fc;
    const auto outcome = fc.run(
        "def application(environ, start_response):\n"
        "    write = start_response('200 OK', [('Content-Length', '13')])\n"
        "    write(b'abc')\n"
        "    return environ['wsgi.file_wrapper'](open(environ['WG_FILE'], 'rb'))\n");
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 1);
    EXPECT_EQ(fc.io.sent(), "abc" + kContent.substr(0, 10));
}

TEST(FileBypass, ThePassedDescriptorIsADuplicateOfItsOwn) {
    // Close-on-exec, and the app's file position does not move (the module never reads through
    // the file position: sendfile and the fake take the range).
    FileCase fc;
    const auto outcome = fc.run(
        "import os\n"
        "class Checked:\n"
        "    def __init__(self, path):\n"
        "        self.f = open(path, 'r+b')\n"
        "        self.f.seek(3)\n"
        "    def fileno(self): return self.f.fileno()\n"
        "    def tell(self): return self.f.tell()\n"
        "    def read(self, n): raise AssertionError('read() called')\n"
        "    def close(self):\n"
        "        assert self.f.tell() == 3, self.f.tell()\n"
        "        self.f.close()\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return environ['wsgi.file_wrapper'](Checked(environ['WG_FILE']))\n");
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileAccessMode, O_RDWR);
    EXPECT_TRUE(fc.io.fileCloseOnExec);
    EXPECT_EQ(fc.io.sent(), kContent.substr(3));
    EXPECT_FALSE(testLog().contains("WG0334", "close()"));
}

TEST(FileBypass, AWriteOnlyDescriptorIsNotPassed) {
    // httpd could not read it: left to the iteration, whose read() fails as the app's own.
    FileCase fc;
    const auto outcome =
        fc.run(wrapperApp("    f = io.FileIO(os.open(path, os.O_WRONLY), 'wb')\n"));
    EXPECT_EQ(outcome.kind, Kind::AppError) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 0);
}

TEST(FileBypass, ADeletedFileIsStillPassed) {
    FileCase fc;
    const auto outcome = fc.run(wrapperApp("    f = open(path, 'rb')\n    os.unlink(path)\n"));
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 1);
    EXPECT_EQ(fc.io.sent(), kContent);
}

TEST(FileBypass, CloseIsCalledAfterThePassedFile) {
    FileCase fc;
    testLog().clear();
    const auto outcome = fc.run(
        "import io\n"
        "class Tracked(io.FileIO):\n"
        "    def close(self):\n"
        "        self.errors.write('closed after %d file bytes\\n' % self.tell())\n"
        "        super().close()\n"
        "def application(environ, start_response):\n"
        "    f = Tracked(environ['WG_FILE'], 'rb')\n"
        "    f.errors = environ['wsgi.errors']\n"
        "    start_response('200 OK', [])\n"
        "    return environ['wsgi.file_wrapper'](f)\n");
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 1);
    EXPECT_TRUE(testLog().contains("WG0310", "[req-file] closed after 0 file bytes"));
}

TEST(FileBypass, AFailedPassIsAGoneClient) {
    FileCase fc;
    fc.io.failFile = true;
    const auto outcome = fc.run(wrapperApp("    f = open(path, 'rb')\n"));
    EXPECT_EQ(outcome.kind, Kind::ClientGone) << outcome.message;
    EXPECT_TRUE(outcome.headersSent);
}

// ---- what is streamed instead ------------------------------------------------------------------

/// Runs `source` and expects the body to be streamed (no writeFile) with `body`.
void expectStreamed(FileCase& fc, const std::string& source, const std::string& body,
                    bool passFiles = true) {
    const auto outcome = fc.run(source, passFiles);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 0);
    EXPECT_EQ(fc.io.sent(), body);
}

TEST(FileBypass, ObjectsWithoutAUsableFilenoAreStreamed) {
    {
        FileCase fc;
        expectStreamed(fc, wrapperApp("    f = io.BytesIO(open(path, 'rb').read())\n"), kContent);
    }
    {
        FileCase fc;  // fileno() raises
        expectStreamed(fc,
                       wrapperApp("    class F(io.FileIO):\n"
                                  "        def fileno(self): raise io.UnsupportedOperation()\n"
                                  "    f = F(path, 'rb')\n"),
                       kContent);
    }
    {
        FileCase fc;  // tell() raises
        expectStreamed(fc,
                       wrapperApp("    class F(io.FileIO):\n"
                                  "        def tell(self): raise OSError('no tell')\n"
                                  "    f = F(path, 'rb')\n"),
                       kContent);
    }
}

TEST(FileBypass, PipesAreStreamed) {
    FileCase fc;
    expectStreamed(fc,
                   wrapperApp("    r, w = os.pipe()\n"
                              "    os.write(w, b'through a pipe')\n"
                              "    os.close(w)\n"
                              "    f = os.fdopen(r, 'rb')\n"),
                   "through a pipe");
}

TEST(FileBypass, TextFilesAreLeftToTheIteration) {
    // Their blocks are str, which a WSGI body may not carry: the iteration reports it.
    FileCase fc;
    const auto outcome = fc.run(wrapperApp("    f = open(path, 'r', encoding='latin-1')\n"));
    EXPECT_EQ(outcome.kind, Kind::InvalidResponse) << outcome.message;
    EXPECT_EQ(fc.io.fileCalls, 0);
}

TEST(FileBypass, EnableSendfileOffStreams) {
    FileCase fc;
    expectStreamed(fc, wrapperApp("    f = open(path, 'rb')\n"), kContent, false);
}

TEST(FileBypass, AConnectionThatCannotPassStreams) {
    FileCase fc;
    fc.io.passFiles = false;
    expectStreamed(fc, wrapperApp("    f = open(path, 'rb')\n"), kContent);
}

TEST(FileBypass, OnlyAFileWrapperItselfIsPassed) {
    FileCase fc;  // a plain iterable over the file object: iterated
    expectStreamed(fc,
                   "def application(environ, start_response):\n"
                   "    start_response('200 OK', [])\n"
                   "    return iter(lambda: f.read(8192), b'') if (f := open(environ['WG_FILE'], "
                   "'rb')) else []\n",
                   kContent);
}

TEST(FileBypass, EmptyFilesAndFilesReadToTheEndSendNothing) {
    {
        FileCase fc;
        const auto outcome = fc.run(wrapperApp("    f = open(path, 'rb')\n    f.read()\n"));
        EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
        EXPECT_EQ(fc.io.fileCalls, 0);
        EXPECT_EQ(fc.io.sent(), "");
        EXPECT_EQ(fc.io.status, "200 OK");
    }
    {
        FileCase fc;
        const auto outcome =
            fc.run(wrapperApp("    f = open(path, 'rb')\n", "[]", "204 No Content"));
        EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
        EXPECT_EQ(fc.io.fileCalls, 0);
        EXPECT_EQ(fc.io.sent(), "");
    }
}

}  // namespace
}  // namespace wsgid::testing
