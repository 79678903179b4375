// SPDX-License-Identifier: Apache-2.0
// wsgi.input through Runtime::handle: read/readline/readlines/iteration, read(n) boundaries,
// Content-Length, EOF, read errors and use after the request.
#include <string>

#include <gtest/gtest.h>

#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

constexpr const char* kBody = "alpha\nbeta\n\ngamma delta\nlast line without newline";

// Runs `code` (a Python function body that reads `inp` = wsgi.input and sets `result` to a
// str) against `io` and returns the response body.
std::string readWith(const std::string& code, FakeRequestIo& io, std::int64_t contentLength = -1) {
    python::WsgiRequest request;
    request.contentLength = contentLength;
    const auto outcome = runApp(
        "def application(environ, start_response):\n"
        "    inp = environ['wsgi.input']\n" +
            code +
            "    start_response('200 OK', [])\n"
            "    return [result.encode('latin-1')]\n",
        io, request);
    EXPECT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    return io.sent();
}

TEST(InputStream, ReadReturnsTheWholeBody) {
    FakeRequestIo io;
    io.body = kBody;
    io.maxReadChunk = 7;  // many small pieces from the connection
    EXPECT_EQ(readWith("    data = inp.read()\n"
                       "    result = repr((data, inp.read(), inp.read(5)))\n",
                       io),
              "(b'alpha\\nbeta\\n\\ngamma delta\\nlast line without newline', b'', b'')");
}

TEST(InputStream, ReadNoneAndNegativeMeanEverything) {
    FakeRequestIo io;
    io.body = "abcdef";
    EXPECT_EQ(readWith("    result = repr((inp.read(2), inp.read(None)))\n", io),
              "(b'ab', b'cdef')");
    FakeRequestIo io2;
    io2.body = "abcdef";
    EXPECT_EQ(readWith("    result = repr((inp.read(0), inp.read(-1)))\n", io2),
              "(b'', b'abcdef')");
}

TEST(InputStream, ReadNHonoursBoundariesAcrossPieces) {
    FakeRequestIo io;
    io.body = "0123456789";
    io.maxReadChunk = 3;
    EXPECT_EQ(readWith("    parts = [inp.read(4), inp.read(1), inp.read(4), inp.read(4), "
                       "inp.read(4)]\n"
                       "    result = repr(parts)\n",
                       io),
              "[b'0123', b'4', b'5678', b'9', b'']");
}

TEST(InputStream, ReadNeverPassesTheContentLength) {
    FakeRequestIo io;
    io.body = "0123456789-extra-bytes";
    EXPECT_EQ(readWith("    result = repr((inp.read(), inp.read(1)))\n", io, 10),
              "(b'0123456789', b'')");
    EXPECT_EQ(io.bodyRead(), 10u);
    EXPECT_LE(io.largestReadRequest, 10u);
}

TEST(InputStream, ReadlineSplitsLinesAndHonoursItsLimit) {
    FakeRequestIo io;
    io.body = kBody;
    io.maxReadChunk = 4;
    EXPECT_EQ(readWith("    lines = [inp.readline(), inp.readline(2), inp.readline(), "
                       "inp.readline(), inp.readline(-1), inp.readline(), inp.readline()]\n"
                       "    result = repr(lines)\n",
                       io),
              "[b'alpha\\n', b'be', b'ta\\n', b'\\n', b'gamma delta\\n', "
              "b'last line without newline', b'']");
}

TEST(InputStream, ReadlinesReturnsTheRestAndStopsAtTheHint) {
    FakeRequestIo io;
    io.body = kBody;
    io.maxReadChunk = 5;
    EXPECT_EQ(readWith("    first = inp.readlines(8)\n"
                       "    rest = inp.readlines()\n"
                       "    result = repr((first, rest))\n",
                       io),
              "([b'alpha\\n', b'beta\\n'], [b'\\n', b'gamma delta\\n', "
              "b'last line without newline'])");
}

TEST(InputStream, IterationYieldsLines) {
    FakeRequestIo io;
    io.body = "one\ntwo\nthree";
    io.maxReadChunk = 2;
    EXPECT_EQ(readWith("    result = repr([line for line in inp])\n", io),
              "[b'one\\n', b'two\\n', b'three']");
}

TEST(InputStream, MixedReadsShareOneBuffer) {
    FakeRequestIo io;
    io.body = "head\nrest of the body";
    EXPECT_EQ(readWith("    result = repr((inp.readline(), inp.read(4), next(iter(inp)), "
                       "inp.read()))\n",
                       io),
              "(b'head\\n', b'rest', b' of the body', b'')");
}

TEST(InputStream, EmptyBodyIsImmediateEof) {
    FakeRequestIo io;
    EXPECT_EQ(readWith("    result = repr((inp.read(), inp.readline(), inp.readlines(), "
                       "list(inp)))\n",
                       io, 0),
              "(b'', b'', [], [])");
    EXPECT_EQ(io.readCalls, 0u);  // Content-Length 0: nothing to ask the connection
}

TEST(InputStream, LargeBodyReadsCompletely) {
    FakeRequestIo io;
    io.body.assign(3 * 1024 * 1024 + 17, 'z');
    io.maxReadChunk = 100000;
    EXPECT_EQ(readWith("    data = inp.read()\n"
                       "    result = '%d %d' % (len(data), data.count(b'z'))\n",
                       io, static_cast<std::int64_t>(io.body.size())),
              "3145745 3145745");
}

// A body of `size` bytes that tells its positions apart (a byte out of place changes it).
std::string patternBody(std::size_t size) {
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return body;
}

// Python code that sets `result` to "OK" when `data` equals the first `length` bytes of the body
// (passed as environ['body']), else to where they differ.
std::string checkData(const std::string& read) {
    return "    data = " + read +
           "\n"
           "    want = environ['body'][:len(data)]\n"
           "    result = 'OK %d' % len(data) if data == want else 'differs at %d' % next(\n"
           "        i for i in range(len(data)) if data[i] != want[i])\n";
}

std::string hexOf(const std::string& bytes) {
    static constexpr const char* kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out += kDigits[byte >> 4];
        out += kDigits[byte & 15];
    }
    return out;
}

// Runs `code` like readWith, with the body also in environ['body'] (bytes) for checkData.
std::string readChecked(const std::string& code, FakeRequestIo& io,
                        std::int64_t contentLength = -1) {
    return readWith("    environ['body'] = bytes.fromhex('" + hexOf(io.body) + "')\n" + code, io,
                    contentLength);
}

TEST(InputStream, ReadTakesBytesAlreadyHereWithoutReleasingTheGil) {
    FakeRequestIo io;
    io.body = patternBody(300 * 1024);
    io.maxReadChunk = 64 * 1024;
    io.quickBytes = io.body.size();
    EXPECT_EQ(readChecked(checkData("inp.read()"), io, static_cast<std::int64_t>(io.body.size())),
              "OK 307200");
    EXPECT_EQ(io.readCalls, 0u);  // never had to wait: the GIL was never released
    EXPECT_GE(io.quickReadCalls, 5u);
}

TEST(InputStream, ReadWaitsOnlyWhenNothingIsHere) {
    // Each wait brings 100 KiB that the next reads take at once.
    FakeRequestIo io;
    io.body = patternBody(1024 * 1024 + 3);
    io.maxReadChunk = 40 * 1024;
    io.readyAfterWait = 100 * 1024;
    EXPECT_EQ(readChecked(checkData("inp.read()"), io, static_cast<std::int64_t>(io.body.size())),
              "OK 1048579");
    EXPECT_GE(io.quickReadCalls, 2 * io.readCalls);
    EXPECT_LE(io.readCalls, 11u);
}

TEST(InputStream, LargeReadTakesTheBufferedBytesFirstThenTheRest) {
    // readline leaves read-ahead in the buffer; the large read that follows starts with it and
    // goes on with bytes from the connection (some here already, some waited for).
    FakeRequestIo io;
    io.body = "first line\n" + patternBody(500 * 1024);
    io.maxReadChunk = 30 * 1024;
    io.readyAfterWait = 50 * 1024;
    EXPECT_EQ(readChecked("    line = inp.readline()\n" + checkData("line + inp.read(400000)") +
                              "    result += ' %d' % len(inp.read())\n",
                          io, static_cast<std::int64_t>(io.body.size())),
              "OK 400011 112000");
}

TEST(InputStream, LargeReadOfABodyOfUnknownLength) {
    // No Content-Length (chunked): the result grows as the bytes come, and ends where they do.
    FakeRequestIo io;
    io.body = patternBody(2 * 1024 * 1024 + 5);
    io.maxReadChunk = 256 * 1024;
    io.quickBytes = 700 * 1024;
    EXPECT_EQ(readChecked(checkData("inp.read()") + "    result += ' %r' % inp.read(1)\n", io),
              "OK 2097157 b''");
    FakeRequestIo shorter;
    shorter.body = patternBody(70 * 1024);
    EXPECT_EQ(readChecked(checkData("inp.read(5000000)"), shorter), "OK 71680");
}

TEST(InputStream, ReadNeverAsksBeyondTheContentLengthOnEitherPath) {
    FakeRequestIo io;
    io.body = patternBody(200 * 1024);
    io.quickBytes = 50 * 1024;
    EXPECT_EQ(readChecked(checkData("inp.read()"), io, 150 * 1024), "OK 153600");
    EXPECT_EQ(io.bodyRead(), 150u * 1024);
}

TEST(InputStream, BytesReadBeforeAFailureAreStillThere) {
    // The failure raises; what came before it is not lost: the next read returns it.
    FakeRequestIo io;
    io.body = patternBody(300 * 1024);
    io.maxReadChunk = 64 * 1024;
    io.readError = "connection reset";
    io.failReadAfter = 100 * 1024;
    io.quickBytes = 30 * 1024;
    EXPECT_EQ(readChecked("    try:\n"
                          "        inp.read()\n"
                          "        raise AssertionError('no error')\n"
                          "    except OSError as e:\n"
                          "        error = str(e)\n" +
                              checkData("inp.read(102400)") + "    result += ' ' + error\n",
                          io, static_cast<std::int64_t>(io.body.size())),
              "OK 102400 failed to read the request body: connection reset");
}

TEST(InputStream, AFailureWithTheGilHeldRaisesLikeOneAfterAWait) {
    FakeRequestIo io;
    io.body = "abc";
    io.quickBytes = 3;
    io.readError = "module went away";
    EXPECT_EQ(readWith("    try:\n"
                       "        inp.read(2)\n"
                       "        result = 'no error'\n"
                       "    except OSError as e:\n"
                       "        result = str(e)\n",
                       io),
              "failed to read the request body: module went away");
    EXPECT_EQ(io.quickReadCalls, 1u);
    EXPECT_EQ(io.readCalls, 0u);
}

TEST(InputStream, ReadErrorRaisesOSErrorWithTheMessage) {
    FakeRequestIo io;
    io.readError = "body read timed out";
    EXPECT_EQ(readWith("    try:\n"
                       "        inp.read(10)\n"
                       "        result = 'no error'\n"
                       "    except OSError as e:\n"
                       "        result = str(e)\n",
                       io),
              "failed to read the request body: body read timed out");
}

TEST(InputStream, UseAfterTheRequestRaisesOSError) {
    const std::string script = writeScript(R"PY(
kept = []
def application(environ, start_response):
    start_response('200 OK', [])
    if kept:
        try:
            kept[0].read()
            return [b'no error']
        except OSError as e:
            return [str(e).encode()]
    kept.append(environ['wsgi.input'])
    return [b'kept']
)PY");
    python::WsgiRequest request;
    request.scriptFilename = script;
    request.environ = basicEnviron();
    FakeRequestIo first;
    first.body = "unread";
    EXPECT_EQ(runtime().handle(mainWorker(), request, first).kind, Kind::Completed);
    FakeRequestIo second;
    EXPECT_EQ(runtime().handle(mainWorker(), request, second).kind, Kind::Completed);
    EXPECT_EQ(second.sent(), "wsgi.input used after its request ended");
}

TEST(InputStream, ReadArgumentsAreValidated) {
    FakeRequestIo io;
    io.body = "x";
    EXPECT_EQ(readWith("    try:\n"
                       "        inp.read('3')\n"
                       "        result = 'accepted'\n"
                       "    except TypeError:\n"
                       "        result = 'TypeError'\n",
                       io),
              "TypeError");
}

}  // namespace
}  // namespace wsgid::testing
