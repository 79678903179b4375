// SPDX-License-Identifier: Apache-2.0
// What the Python layer sees of one request: its description (WsgiRequest) and its I/O
// (RequestIo). The daemon implements RequestIo over a protocol connection; unit tests use a fake.
// No httpd and no protocol types here: python depends on common only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace wsgid::python {

/// How long the end of a request waits for threads still inside a RequestIo call before it
/// interrupts them (RequestIo::interrupt: the daemon shuts the connection down). A block in flight
/// to a module that is reading needs milliseconds (1 MiB of pending response at loopback speed);
/// 2 s frees a worker held by a stray thread quickly and does not cut off an honest last write.
inline constexpr std::chrono::milliseconds kInFlightGrace = std::chrono::seconds(2);

/// One request as the WSGI layer needs it. Strings are raw bytes (latin-1 for Python).
struct WsgiRequest {
    std::string scriptFilename;
    std::string callableObject = "application";
    std::string applicationGroup;  ///< "" = main interpreter
    std::string processGroup;
    std::string requestId;
    std::int64_t contentLength = -1;  ///< -1 = unknown (chunked)
    /// WSGIScriptReloading: reload the script when its modification time changed.
    bool scriptReloading = true;
    /// WSGIEnableSendfile: a wsgi.file_wrapper response over a regular file may be sent by
    /// passing its descriptor (RequestIo::writeFile) instead of its bytes.
    bool passFiles = false;
    std::vector<std::pair<std::string, std::string>> environ;
};

/// The request's connection, used by the worker thread and by application threads that call
/// write() or wsgi.input, one call of each direction at a time; the Python layer makes no call
/// once the request ended (python/request_gate.h). readBody, writeStart and writeBody are called
/// WITHOUT the GIL held (the Python layer releases it around them) and may block, every wait
/// bounded by a deadline. tryReadBody, tryWriteStart and tryWriteBody are called WITH the GIL
/// held and must never block; they let a read of bytes already here, or a small block, skip the
/// GIL release and re-acquire (with several threads in a process, a hand-off to another thread).
class RequestIo {
public:
    virtual ~RequestIo() = default;

    /// Reads body bytes into `out` (not empty): waits for the first, then takes more only as far
    /// as they are here at once. Returns the count; 0 means the body ended. A non-ok status means
    /// the body cannot be read (client gone, timeout, abandoned): wsgi.input raises OSError with
    /// the message.
    virtual common::Result<std::size_t> readBody(std::span<char> out) = 0;

    /// readBody without blocking, GIL held: the body bytes that are here already (received, or
    /// readable without waiting), or the body's end (0), or a failure, as readBody returns them;
    /// std::nullopt when getting anything needs a wait (or a write, such as asking the module for
    /// the body): the caller then releases the GIL and calls readBody. Default: std::nullopt.
    virtual std::optional<common::Result<std::size_t>> tryReadBody(std::span<char> /*out*/) {
        return std::nullopt;
    }

    /// Sends the status line and headers (already validated). Called once, before writeBody.
    virtual common::Status writeStart(
        std::string_view status,
        const std::vector<std::pair<std::string, std::string>>& headers) = 0;

    /// Sends body bytes (any size; the implementation splits into frames). A non-ok status
    /// means the client side is gone: the app sees OSError from write()/its iteration stops.
    virtual common::Status writeBody(std::string_view data) = 0;

    /// writeBody for the response's last bytes, when the response is complete with them: no
    /// other RequestIo call follows and the request ends as completed (the Python layer calls it
    /// only for the last block of an exact list or tuple, which has no close(), and only when
    /// that block satisfies the response's Content-Length). The implementation may send the end
    /// of the response with them, in one write. Default: writeBody.
    virtual common::Status writeLastBody(std::string_view data) { return writeBody(data); }

    /// True when writeFile passes descriptors (the daemon's connection). Default: false, and the
    /// Python layer streams every file.
    [[nodiscard]] virtual bool canPassFiles() const noexcept { return false; }

    /// The next `length` response body bytes are those of the open regular file `fd` from
    /// `offset`: sent by passing the descriptor, not its bytes. The implementation owns `fd` from
    /// now on (it closes it once sent, or when the request ends). Called after writeStart, at
    /// most once per request and never followed by writeBody; the file may go out only with the
    /// end of the response. Never blocks (called without the GIL all the same). A non-ok status
    /// means the connection failed, as for writeBody. Default: an Internal error (only called
    /// when canPassFiles()).
    virtual common::Status writeFile(common::UniqueFd /*fd*/, std::uint64_t /*offset*/,
                                     std::uint64_t /*length*/) {
        return {common::ErrorCode::Internal, "this connection cannot pass files"};
    }

    /// writeStart without blocking, GIL held: takes the start only if it can at once (queues it
    /// for sending) and returns the result; std::nullopt when it did not take it, and the caller
    /// then releases the GIL and calls writeStart. Errors may also return std::nullopt, for
    /// writeStart to report. `more` promises that another RequestIo call, or the end of the
    /// request, follows before any application code runs: the implementation may then send the
    /// start together with what follows; without it, it goes out at once. Default: takes nothing.
    virtual std::optional<common::Status> tryWriteStart(
        std::string_view /*status*/,
        const std::vector<std::pair<std::string, std::string>>& /*headers*/, bool /*more*/) {
        return std::nullopt;
    }

    /// writeBody without blocking, GIL held, with the same contract as tryWriteStart (including
    /// `more`): the data is taken in full or not at all. Default: takes nothing.
    virtual std::optional<common::Status> tryWriteBody(std::string_view /*data*/, bool /*more*/) {
        return std::nullopt;
    }

    /// The request ended while a thread is still inside a call (past kInFlightGrace): make that
    /// call, and any later one, fail at once; the connection must then not carry another
    /// request. Called on the request's own thread, without the GIL, concurrently with the
    /// blocked call; must not block. Default: nothing (for implementations that never block).
    virtual void interrupt() noexcept {}

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    RequestIo() = default;
    RequestIo(const RequestIo&) = default;
    RequestIo& operator=(const RequestIo&) = default;
    RequestIo(RequestIo&&) = default;
    RequestIo& operator=(RequestIo&&) = default;
};

/// How a WSGI call ended; the daemon turns it into an End or Error frame.
struct CallOutcome {
    enum class Kind {
        Completed,         ///< start_response called, iterable exhausted, close() called
        AppError,          ///< the app raised (before or after start) - traceback already logged
        ScriptLoadFailed,  ///< script missing, raised on import, or no such callable
        InvalidResponse,   ///< bad status/headers/body type, or fewer bytes than Content-Length
        ClientGone,        ///< RequestIo reported the connection broken; nothing more to send
    };
    Kind kind = Kind::Completed;
    bool headersSent = false;  ///< whether writeStart succeeded (errors after it abort the client)
    std::string message;       ///< one line for the Error frame and the log
    int status = 0;            ///< the app's HTTP status (500 without one); 0 if never run
};

}  // namespace wsgid::python
