// SPDX-License-Identifier: Apache-2.0
// FakeRequestIo: an in-memory RequestIo for the python unit tests. Serves a configured body
// (optionally in small pieces, optionally failing), records the start, the body blocks and any
// passed file (reading its range at once, as the module would), and can be told to fail writes
// as a vanished client would. HoldingRequestIo also holds chosen calls
// until released or interrupted, to replay the end-of-request races deterministically.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "common/status.h"
#include "python/request_io.h"
#include "support/fd_tools.h"

namespace wsgid::testing {

/// Single-request fake; used by one worker thread at a time (no locking).
class FakeRequestIo : public python::RequestIo {
public:
    // ---- configuration ----
    std::string body;                      ///< what readBody serves
    std::size_t maxReadChunk = 1 << 30;    ///< most bytes one readBody call returns
    std::optional<std::string> readError;  ///< when set, readBody fails with it
    /// With readError: how many body bytes are read before the reads fail.
    std::size_t failReadAfter = 0;
    /// Body bytes "already here": tryReadBody hands out up to this many (GIL held), then answers
    /// std::nullopt (it would wait) and the caller goes to readBody.
    std::size_t quickBytes = 0;
    /// Body bytes each readBody call makes "already here" after it (added to quickBytes), as a
    /// socket that fills while the app waits.
    std::size_t readyAfterWait = 0;
    bool failStart = false;  ///< writeStart reports a closed connection
    int failBodyAt = -1;     ///< writeBody call (0-based) that fails first
    bool passFiles = false;  ///< canPassFiles(): writeFile may be called
    bool failFile = false;   ///< writeFile reports a closed connection

    // ---- recorded ----
    int startCalls = 0;
    std::string status;
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<std::string> blocks;    ///< every successful writeBody, in order
    int lastBodyCalls = 0;              ///< writeLastBody calls (each also one of `blocks`)
    std::size_t lastBodyAt = SIZE_MAX;  ///< index in `blocks` of the writeLastBody block
    std::size_t readCalls = 0;          ///< readBody calls (the GIL released)
    std::size_t quickReadCalls = 0;     ///< tryReadBody calls that answered (GIL held)
    std::size_t largestReadRequest = 0;
    bool bodyBeforeStart = false;  ///< writeBody was called before writeStart (a bug)
    int fileCalls = 0;             ///< writeFile calls (a passed file is also one of `blocks`)
    std::uint64_t fileOffset = 0;
    std::uint64_t fileLength = 0;
    int fileAccessMode = -1;  ///< O_ACCMODE of the passed descriptor
    bool fileCloseOnExec = false;

    common::Result<std::size_t> readBody(std::span<char> out) override {
        ++readCalls;
        common::Result<std::size_t> r = serve(out);
        quickBytes += readyAfterWait;
        return r;
    }

    std::optional<common::Result<std::size_t>> tryReadBody(std::span<char> out) override {
        if (quickBytes == 0) {
            return std::nullopt;
        }
        ++quickReadCalls;
        common::Result<std::size_t> r = serve(out.first(std::min(out.size(), quickBytes)));
        if (r) {
            quickBytes -= r.value();
        }
        return r;
    }

    common::Status writeStart(
        std::string_view statusLine,
        const std::vector<std::pair<std::string, std::string>>& responseHeaders) override {
        ++startCalls;
        if (failStart) {
            return {common::ErrorCode::Closed, "client closed the connection"};
        }
        status = statusLine;
        headers = responseHeaders;
        return common::Status::ok();
    }

    common::Status writeBody(std::string_view data) override {
        if (startCalls == 0) {
            bodyBeforeStart = true;
        }
        if (failBodyAt >= 0 && bodyCalls_++ >= failBodyAt) {
            return {common::ErrorCode::Closed, "client closed the connection"};
        }
        blocks.emplace_back(data);
        return common::Status::ok();
    }

    common::Status writeLastBody(std::string_view data) override {
        ++lastBodyCalls;
        lastBodyAt = blocks.size();
        return writeBody(data);  // virtual: a HoldingRequestIo holds it too
    }

    [[nodiscard]] bool canPassFiles() const noexcept override { return passFiles; }

    common::Status writeFile(common::UniqueFd file, std::uint64_t offset,
                             std::uint64_t length) override {
        const int fd = file.get();
        ++fileCalls;
        if (startCalls == 0) {
            bodyBeforeStart = true;
        }
        if (failFile) {
            return {common::ErrorCode::Closed, "client closed the connection"};
        }
        fileOffset = offset;
        fileLength = length;
        fileAccessMode = ::fcntl(fd, F_GETFL) & O_ACCMODE;
        fileCloseOnExec = (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
        blocks.push_back(readRange(fd, offset, length));
        return common::Status::ok();
    }

    /// All body bytes sent, concatenated.
    [[nodiscard]] std::string sent() const {
        std::string all;
        for (const std::string& b : blocks) {
            all += b;
        }
        return all;
    }

    /// The value of the first header called `name` (exact case), if any.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers) {
            if (k == name) {
                return v;
            }
        }
        return std::nullopt;
    }

    /// Body bytes consumed by readBody so far.
    [[nodiscard]] std::size_t bodyRead() const { return readPos_; }

private:
    common::Result<std::size_t> serve(std::span<char> out) {
        largestReadRequest = std::max(largestReadRequest, out.size());
        if (readError && readPos_ >= failReadAfter) {
            return common::Status(common::ErrorCode::Timeout, *readError);
        }
        const std::size_t untilError = readError ? failReadAfter - readPos_ : body.size();
        const std::size_t n =
            std::min({out.size(), maxReadChunk, body.size() - readPos_, untilError});
        body.copy(out.data(), n, readPos_);
        readPos_ += n;
        return n;
    }

    std::size_t readPos_ = 0;
    int bodyCalls_ = 0;
};

/// A FakeRequestIo that holds the writeBody calls from number `holdWriteFrom` (0-based) on, and
/// the readBody calls when `holdReads` is set: a held call writes one byte to `notifyFd` (so an
/// app can wait until another thread is inside it) and blocks until release() (then it goes on
/// as FakeRequestIo's) or interrupt() (then it fails as a shut-down socket would). Configure
/// before the request; calls may come from any thread, one per direction at a time.
class HoldingRequestIo : public FakeRequestIo {
public:
    /// Bound of one hold, so a broken test fails instead of hanging.
    static constexpr std::chrono::seconds kMaxHold{10};

    int holdWriteFrom = -1;
    bool holdReads = false;
    int notifyFd = -1;

    common::Result<std::size_t> readBody(std::span<char> out) override {
        if (holdReads && !hold()) {
            return common::Status(common::ErrorCode::Closed, "connection shut down");
        }
        return FakeRequestIo::readBody(out);
    }

    common::Status writeBody(std::string_view data) override {
        if (holdWriteFrom >= 0 && writeCalls_++ >= holdWriteFrom && !hold()) {
            return {common::ErrorCode::Closed, "connection shut down"};
        }
        return FakeRequestIo::writeBody(data);
    }

    void interrupt() noexcept override {
        const std::lock_guard lock(mutex_);
        interrupted_ = true;
        changed_.notify_all();
    }

    /// Lets held calls (and later ones) go on.
    void release() {
        const std::lock_guard lock(mutex_);
        released_ = true;
        changed_.notify_all();
    }

    /// Waits up to kMaxHold until `count` calls were held; false on the bound.
    bool waitHeld(int count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kMaxHold, [&] { return held_ >= count; });
    }

    [[nodiscard]] bool wasInterrupted() const {
        const std::lock_guard lock(mutex_);
        return interrupted_;
    }

    /// How many held calls are blocked right now.
    [[nodiscard]] int inside() const {
        const std::lock_guard lock(mutex_);
        return inside_;
    }

private:
    // True when released, false when interrupted (or on the bound).
    bool hold() {
        std::unique_lock lock(mutex_);
        ++held_;
        ++inside_;
        changed_.notify_all();
        if (notifyFd >= 0) {
            (void)::write(notifyFd, "h", 1);
        }
        changed_.wait_for(lock, kMaxHold, [&] { return released_ || interrupted_; });
        --inside_;
        return released_ && !interrupted_;
    }

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    int writeCalls_ = 0;  // only the one writing thread at a time touches it
    int held_ = 0;
    int inside_ = 0;
    bool released_ = false;
    bool interrupted_ = false;
};

}  // namespace wsgid::testing
