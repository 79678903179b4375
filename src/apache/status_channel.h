// SPDX-License-Identifier: Apache-2.0
// StatusChannel: the httpd parent's end of one daemon's status pipe (docs/protocol.md, "Status
// pipe"): reads what the daemon says without ever blocking, and keeps what supervision needs:
// whether it said it is ready, whether it asked to be recycled, and its last words. A daemon
// runs tenant code, so the channel trusts nothing: a bad record or too many records and it stops
// listening for good. No httpd headers (tests/unit/apache/status_channel_test.cpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "protocol/daemon_status.h"

namespace wsgid::apache {

/// Records one daemon may send in its life: Ready once, a few Recycle requests (one per
/// trigger), one Exiting, AppExit or FatalSignal. Far more is a daemon writing garbage.
inline constexpr std::size_t kMaxStatusRecords = 64;

/// Bytes read per pump() call: bounds the parent's work per call (64 records and a bit).
inline constexpr std::size_t kStatusReadBytes = 1024;

/// One daemon's status pipe, parent side. Not thread-safe (the parent is single-threaded).
class StatusChannel {
public:
    StatusChannel() = default;
    /// Takes the read end (made non-blocking here).
    explicit StatusChannel(common::UniqueFd readEnd);

    /// Reads what is there (at most kStatusReadBytes) without blocking; true if anything
    /// changed (a record arrived, EOF, or the channel broke).
    bool pump();
    /// Applies `bytes` as if read from the pipe (pump() uses it; tests call it directly).
    void feed(std::string_view bytes);
    /// The writer is gone (EOF) or the channel broke: nothing more will be read.
    void close() noexcept;

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// Still worth watching: open, not at EOF, not broken.
    [[nodiscard]] bool open() const noexcept { return fd_.get() >= 0; }
    [[nodiscard]] bool ready() const noexcept { return ready_; }
    /// The first Recycle request's reason, if the daemon asked.
    [[nodiscard]] std::optional<protocol::StopReason> recycleRequest() const noexcept {
        return recycle_;
    }
    /// The last Exiting, AppExit or FatalSignal record.
    [[nodiscard]] const std::optional<protocol::StatusRecord>& lastWords() const noexcept {
        return lastWords_;
    }
    /// Why the channel stopped listening early ("" when it did not): an invalid record or too
    /// many. Set once; the caller logs it.
    [[nodiscard]] const std::string& broken() const noexcept { return broken_; }

private:
    void apply(const protocol::StatusRecord& record);

    common::UniqueFd fd_;
    std::string partial_;  ///< bytes of an incomplete record
    std::size_t records_ = 0;
    bool ready_ = false;
    std::optional<protocol::StopReason> recycle_;
    std::optional<protocol::StatusRecord> lastWords_;
    std::string broken_;
};

}  // namespace wsgid::apache
