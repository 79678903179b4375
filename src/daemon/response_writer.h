// SPDX-License-Identifier: Apache-2.0
// ResponseWriter: a worker thread's companion thread that sends response frames while the app
// produces the next ones, so blocks yielded during a write join the next write without any delay
// (DESIGN.md "Data path", item 4). No httpd and no Python here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/frame.h"

namespace wsgid::daemon {

/// Most response bytes queued and not yet taken by a write. Past it, a block waits (without the
/// GIL) until the writer takes the queue: a module that reads slowly then slows the app down
/// instead of letting the daemon buffer an unbounded response. With the write in flight a worker
/// holds at most twice this. 1 MiB is four full Body frames, enough to keep the socket busy while
/// the app runs, and small next to a daemon's interpreter.
inline constexpr std::size_t kMaxPendingResponseBytes = std::size_t{1024} * 1024;

/// A block at least this large is written by the worker itself, straight from the app's buffer,
/// after everything queued before it: it is a write of its own anyway, and copying it into the
/// pending buffer would cost more than the system call it could share. 8 KiB is
/// wsgi.file_wrapper's default block size: with 64 KiB here, file responses paid a copy and a
/// thread hand-off per block and fell from 0.85x to 0.68x of mod_wsgi (scripts/bench, file).
inline constexpr std::size_t kDirectWriteThreshold = std::size_t{8} * 1024;

/// Most bytes the owner sends itself, without waiting, instead of waking the writer thread the
/// first time a response has something to send (tryQueue): the status line, headers and first
/// block of a typical response. Sent with the GIL held, so it must stay a copy into the socket
/// buffer that never waits; twice kDirectWriteThreshold covers headers plus a block just under it.
inline constexpr std::size_t kMaxFirstSendNow = 2 * kDirectWriteThreshold;

/// Most bytes of frames queued before a held File frame (holdWithDescriptor) that go out in the
/// File frame's own sendmsg(), with the descriptor attached to their first byte, when nothing of
/// the response was written before: the Start of a file_wrapper response then costs no write of
/// its own. The module accepts a descriptor only with the read that holds the File frame's first
/// byte; Linux attaches it to the first segment (skb) of the write and ends a read after that
/// segment, so the whole write must be one segment, and the socket must hold nothing before it
/// that could fill the module's read. A segment holds at least (SO_SNDBUF / 2) - 64 bytes, and
/// the kernel's smallest SO_SNDBUF is 4608: 2 KiB fits whatever send-buffer-size= says, and a
/// status line with its headers is usually a few hundred bytes (docs/protocol.md "File frames").
inline constexpr std::size_t kMaxBytesWithDescriptor = 2048;

/// How much longer than the socket timeout the worker waits for the writer thread to finish a
/// write in flight. The write itself is bounded by the socket timeout; the margin only absorbs
/// scheduling. Past it the worker shuts the socket down, which ends the write at once.
inline constexpr std::chrono::milliseconds kWriterIdleMargin = std::chrono::seconds(1);

/// Sends the response frames of one request at a time over a connection's socket.
///
/// Threads: the owner (a worker, or an application thread inside write(), one at a time: the
/// Python layer never lets two write at once and ends every use before finish()) calls every
/// member; the writer thread it starts only writes to the socket and never runs Python. Frames
/// reach the socket in the order they were given. A frame is handed to the writer thread as soon as
/// it is queued (nothing waits for a timer or for more data; only tryQueue's `more` defers it to
/// the caller's very next call); whatever is queued while a write is in flight goes out with the
/// next write, adjacent Body data merged into one frame of up to protocol::kMaxDataChunk.
///
/// Lifetime: begin() binds a socket for one response; finish() or abandon() releases it, and
/// after either returns the writer thread no longer touches the socket, so the owner may close it
/// or hand it to another thread. The destructor stops and joins the thread (pending data is
/// dropped). If the thread cannot be started every write happens synchronously on the owner.
class ResponseWriter {
public:
    /// Starts the writer thread (see usesThread()).
    ResponseWriter() noexcept;
    ResponseWriter(const ResponseWriter&) = delete;
    ResponseWriter& operator=(const ResponseWriter&) = delete;
    ResponseWriter(ResponseWriter&&) = delete;
    ResponseWriter& operator=(ResponseWriter&&) = delete;
    /// Stops and joins the writer thread; call finish() or abandon() first.
    ~ResponseWriter();

    /// False when the writer thread could not be started; writes are then synchronous.
    [[nodiscard]] bool usesThread() const noexcept { return thread_.joinable(); }

    /// Binds the socket `fd` (non-blocking; it must stay open until finish()/abandon()) for one
    /// response; each write (one batch, or one direct write of up to 64 frames) gives up when it
    /// has not completed within `timeout`.
    void begin(int fd, std::chrono::milliseconds timeout) noexcept;

    /// Never blocks (safe with the GIL held): queues the frame and wakes the writer thread if it
    /// sleeps. std::nullopt when that would need a wait or a large copy (back-pressure, a block of
    /// kDirectWriteThreshold or more, no writer thread): the caller then calls write(). A non-ok
    /// status is a write's failure: the connection is broken. With `more` the writer is not
    /// woken: the caller promises another call (which sends both) or finish() right away.
    /// The first time a response would wake the writer, the caller instead sends what is queued
    /// itself if the socket takes it at once (up to kMaxFirstSendNow): a response of one block
    /// then costs no hand-off between threads; later blocks still go through the writer thread,
    /// so blocks yielded in quick succession merge into few writes.
    std::optional<common::Status> tryQueue(protocol::FrameType type, std::string_view payload,
                                           bool more = false) noexcept;

    /// May block up to the timeout (call without the GIL): like tryQueue, waiting for room while
    /// more than kMaxPendingResponseBytes are pending, or writing a large block itself after
    /// everything queued before it.
    common::Status write(protocol::FrameType type, std::string_view payload) noexcept;

    /// May block up to the timeout (call without the GIL): writes what is queued, then
    /// `type`/`payload` (split into frames as write() does) and the empty frame `final` (End)
    /// in one write (as many as a payload of more than 64 frames needs) on the calling thread:
    /// the last block of a response and its end cost one system call, not two. The response has
    /// then ended: finish() with the same `final` writes nothing more, and any other call
    /// (write, tryQueue, control, holdWithDescriptor, a finish with another frame) fails.
    /// Refused while a descriptor is held (its frame must come last).
    common::Status writeLast(protocol::FrameType type, std::string_view payload,
                             protocol::FrameType final) noexcept;

    /// Never blocks (safe with the GIL held): holds the frame `type`/`payload` and `descriptor`
    /// (owned from now on) for finish(), which writes what is queued, then this frame and the
    /// final frame in one sendmsg() of their own that carries the descriptor with this frame's
    /// first byte (docs/protocol.md "File frames"): the module gets the file and the end of the
    /// response in one read, and the response needs no hand-off to the writer thread. When
    /// nothing of the response was written yet and what is queued is small (the Start;
    /// kMaxBytesWithDescriptor in all), it goes in that same sendmsg(), ahead of this frame. At
    /// most one per response; only control frames may be queued after it (they go out before it).
    /// abandon() or a failed response closes the descriptor.
    common::Status holdWithDescriptor(protocol::FrameType type, std::string_view payload,
                                      common::UniqueFd descriptor) noexcept;

    /// Any thread, also while the owner writes (an app thread reading wsgi.input while the worker
    /// streams the response): queues a frame without payload (SendBody) after what is queued and
    /// wakes the writer thread; without a writer thread, writes it once no other write is in
    /// flight. Never waits for room (the frame is 8 bytes), but may wait for a write in flight
    /// without a writer thread: call without the GIL.
    common::Status control(protocol::FrameType type) noexcept;

    /// Ends the response: waits until the writer thread is idle, then writes what is still
    /// pending and `type`/`payload` (End or Error) on the calling thread. Releases the socket.
    common::Status finish(protocol::FrameType type, std::string_view payload) noexcept;

    /// Ends the response without a final frame (the connection is broken or will be closed):
    /// waits until the writer thread is idle and drops what is pending. Releases the socket.
    void abandon() noexcept;

private:
    void run() noexcept;
    void queueLocked(protocol::FrameType type, std::string_view payload);
    /// Waits until the writer thread holds no batch; on the bound it shuts the socket down.
    common::Status waitIdleLocked(std::unique_lock<std::mutex>& lock) noexcept;
    // Writes `queued`, then `type`/`payload`, then the empty frame `then` if set, in as few
    // writev() calls as kFramesPerWrite allows.
    common::Status writeNow(std::string_view queued, protocol::FrameType type,
                            std::string_view payload,
                            std::optional<protocol::FrameType> then = std::nullopt) noexcept;
    common::Status failLocked(common::Status status);
    // With the lock held and the writer idle: sends what is pending without waiting and keeps
    // the rest (if the socket took less) for the writer thread. False on a write error (error_).
    bool sendPendingNowLocked();
    // With the lock held and the writer idle: writes everything pending, then the held frame
    // and its descriptor (holdWithDescriptor) if any, then the frame, on the calling thread (the
    // lock is released around the write). May throw std::bad_alloc.
    common::Status writeQueuedThenLocked(std::unique_lock<std::mutex>& lock,
                                         protocol::FrameType type, std::string_view payload,
                                         std::optional<protocol::FrameType> then = std::nullopt);

    std::mutex mutex_;
    std::condition_variable work_;     // the writer thread waits for pending data or stop
    std::condition_variable drained_;  // the owner waits for room or for the writer to be idle
    // Guarded by mutex_:
    std::string pending_;                       // encoded frames not yet taken by a write
    std::size_t openBody_ = std::string::npos;  // offset of a trailing Body frame that may grow
    bool busy_ = false;  // a write of queued data is in flight (writer thread or owner)
    bool stopping_ = false;
    std::optional<common::Status> error_;  // the first write failure of this response
    bool sentNow_ = false;  // this response already had its one chance to skip the writer thread
    std::optional<protocol::FrameType> ended_;  // writeLast sent this final frame already
    bool wrote_ = false;               // some of this response went to the socket (or is going)
    std::string held_;                 // holdWithDescriptor's frame, for finish()
    common::UniqueFd heldDescriptor_;  // and its descriptor
    int fd_ = -1;
    std::chrono::milliseconds timeout_{0};

    std::string batch_;   // writer thread only: the data of the write in flight
    std::thread thread_;  // last: started after every other member is ready
};

}  // namespace wsgid::daemon
