// SPDX-License-Identifier: Apache-2.0
// ResponseWriter: the queue of encoded response frames, the writer thread that drains it, and the
// owner's synchronous writes of large blocks and of the final frame.
#include "daemon/response_writer.h"

#include <algorithm>
#include <array>
#include <span>

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/descriptor_passing.h"
#include "common/socket_io.h"
#include "common/thread_name.h"
#include "protocol/limits.h"

namespace wsgid::daemon {

using common::Clock;
using common::Deadline;
using common::ErrorCode;
using common::Status;
using protocol::FrameType;

namespace {

Status endedStatus() {
    return {ErrorCode::Internal, "the response already ended"};
}

// Body frames sent with one writev() by the owner: bounds the iovec array (IOV_MAX is 1024 on
// Linux, and each frame takes two entries) while still moving 16 MiB per system call.
constexpr std::size_t kFramesPerWrite = 64;

// Buffer capacity kept between responses. Larger buffers (a burst of small blocks under
// back-pressure) are released, so an idle worker holds no megabytes.
constexpr std::size_t kRetainedBufferBytes = std::size_t{64} * 1024;

void releaseIfLarge(std::string& buffer) {
    buffer.clear();
    if (buffer.capacity() > kRetainedBufferBytes) {
        std::string().swap(buffer);
    }
}

// Makes the calling thread SCHED_BATCH: the same nice level and share of the CPU as before, but
// its wake-ups never preempt the thread that runs (Linux lets only the tick preempt for a batch
// task). The worker wakes the writer when it queues a block and goes on running the app: on a CPU
// the two share, the writer then runs once the worker sleeps (the app waits for anything, or the
// response ends) or its time slice is up, and takes every block queued meanwhile in one write;
// with a CPU free it runs at once, as before. Without it, on a busy core, a wake-up could switch
// to the writer after almost every yield, for a write and an httpd wake-up of its own
// (docs/architecture.md, "Coalescing without delay"). Best effort: refused, nothing changes.
void runWithoutWakeupPreemption() noexcept {
    const sched_param param{.sched_priority = 0};
    (void)::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);
}

}  // namespace

ResponseWriter::ResponseWriter() noexcept {
    try {
        thread_ = std::thread([this] {
            common::nameThisThread("wsgid-writer");
            runWithoutWakeupPreemption();
            run();
        });
    } catch (...) {
        // No thread: tryQueue() declines and write()/finish() write on the owner's thread.
    }
}

ResponseWriter::~ResponseWriter() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ResponseWriter::begin(int fd, std::chrono::milliseconds timeout) noexcept {
    const std::lock_guard lock(mutex_);
    fd_ = fd;
    timeout_ = timeout;
    error_.reset();
    pending_.clear();
    openBody_ = std::string::npos;
    sentNow_ = false;
    ended_.reset();
    wrote_ = false;
    held_.clear();
    heldDescriptor_.reset();
}

void ResponseWriter::run() noexcept {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [this] { return stopping_ || (!pending_.empty() && !busy_ && !error_); });
        if (stopping_) {
            return;
        }
        batch_.swap(pending_);
        openBody_ = std::string::npos;
        busy_ = true;
        wrote_ = true;
        const int fd = fd_;
        const Deadline deadline = Deadline::after(timeout_);
        lock.unlock();
        Status status = common::writeFully(fd, batch_, deadline);
        releaseIfLarge(batch_);
        lock.lock();
        busy_ = false;
        if (!status && !error_) {
            error_ = std::move(status);
        }
        drained_.notify_all();
    }
}

void ResponseWriter::queueLocked(FrameType type, std::string_view payload) {
    if (type != FrameType::Body) {
        protocol::appendFrame(pending_, type, 0, payload);
        openBody_ = std::string::npos;
        return;
    }
    while (!payload.empty()) {
        if (openBody_ == std::string::npos) {
            openBody_ = pending_.size();
            pending_.append(protocol::kFrameHeaderSize, '\0');
        }
        const std::size_t length = pending_.size() - openBody_ - protocol::kFrameHeaderSize;
        const std::size_t take =
            std::min<std::size_t>(payload.size(), protocol::kMaxDataChunk - length);
        pending_.append(payload.data(), take);
        payload.remove_prefix(take);
        protocol::encodeHeader(FrameType::Body, 0, static_cast<std::uint32_t>(length + take),
                               std::span<char, protocol::kFrameHeaderSize>(
                                   pending_.data() + openBody_, protocol::kFrameHeaderSize));
        if (length + take == protocol::kMaxDataChunk) {
            openBody_ = std::string::npos;
        }
    }
}

std::optional<Status> ResponseWriter::tryQueue(FrameType type, std::string_view payload,
                                               bool more) noexcept {
    if (!usesThread() || payload.size() >= kDirectWriteThreshold) {
        return std::nullopt;
    }
    try {
        std::unique_lock lock(mutex_);
        if (error_) {
            return *error_;
        }
        if (ended_) {
            return endedStatus();
        }
        if (pending_.size() + payload.size() > kMaxPendingResponseBytes) {
            return std::nullopt;
        }
        queueLocked(type, payload);
        if (!more && !busy_ && !sentNow_ && pending_.size() <= kMaxFirstSendNow) {
            sentNow_ = true;
            if (!sendPendingNowLocked()) {
                return *error_;
            }
            if (pending_.empty()) {
                return Status::ok();
            }
        }
        const bool wake = !busy_ && !more;
        lock.unlock();
        if (wake) {
            work_.notify_one();
        }
        return Status::ok();
    } catch (...) {
        // Out of memory: write() reports it without the GIL.
        return std::nullopt;
    }
}

bool ResponseWriter::sendPendingNowLocked() {
    wrote_ = true;
    common::Result<std::size_t> sent = common::sendNow(fd_, pending_);
    if (!sent.isOk()) {
        (void)failLocked(sent.status());
        return false;
    }
    pending_.erase(0, *sent);
    // A Body frame partly sent can no longer grow: its header is on its way.
    openBody_ = std::string::npos;
    return true;
}

Status ResponseWriter::write(FrameType type, std::string_view payload) noexcept {
    try {
        std::unique_lock lock(mutex_);
        if (error_) {
            return *error_;
        }
        if (ended_) {
            return failLocked(endedStatus());
        }
        if (!usesThread() || payload.size() >= kDirectWriteThreshold) {
            if (Status idle = waitIdleLocked(lock); !idle) {
                return failLocked(std::move(idle));
            }
            Status status = writeQueuedThenLocked(lock, type, payload);
            if (!status) {
                return failLocked(std::move(status));
            }
            return Status::ok();
        }
        // Body data may be split across waits; any other frame is queued whole.
        const bool splittable = type == FrameType::Body;
        while (!payload.empty() || !splittable) {
            const std::size_t need = splittable ? 1 : payload.size();
            const bool room = drained_.wait_until(
                lock, Clock::now() + timeout_ + kWriterIdleMargin,
                [&] { return error_ || pending_.size() + need <= kMaxPendingResponseBytes; });
            if (error_) {
                return *error_;
            }
            if (!room) {
                return failLocked(Status(ErrorCode::Timeout, "timed out writing the response"));
            }
            const std::size_t take =
                std::min(payload.size(), kMaxPendingResponseBytes - pending_.size());
            queueLocked(type, payload.substr(0, take));
            payload.remove_prefix(take);
            if (!busy_) {
                work_.notify_one();
            }
            if (!splittable) {
                break;
            }
        }
        return Status::ok();
    } catch (...) {
        const std::lock_guard lock(mutex_);
        return failLocked(Status(ErrorCode::Internal, "out of memory writing the response"));
    }
}

Status ResponseWriter::writeLast(FrameType type, std::string_view payload,
                                 FrameType final) noexcept {
    try {
        std::unique_lock lock(mutex_);
        if (error_) {
            return *error_;
        }
        if (ended_ || heldDescriptor_) {
            return failLocked(ended_ ? endedStatus()
                                     : Status(ErrorCode::Internal, "a frame after a held file"));
        }
        if (Status idle = waitIdleLocked(lock); !idle) {
            return failLocked(std::move(idle));
        }
        Status status = writeQueuedThenLocked(lock, type, payload, final);
        if (!status) {
            return failLocked(std::move(status));
        }
        ended_ = final;
        return Status::ok();
    } catch (...) {
        const std::lock_guard lock(mutex_);
        return failLocked(Status(ErrorCode::Internal, "out of memory writing the response"));
    }
}

Status ResponseWriter::holdWithDescriptor(FrameType type, std::string_view payload,
                                          common::UniqueFd descriptor) noexcept {
    try {
        const std::lock_guard lock(mutex_);
        if (error_) {
            return *error_;
        }
        if (ended_) {
            return failLocked(endedStatus());
        }
        if (heldDescriptor_ || !descriptor) {
            return failLocked(Status(ErrorCode::Internal, "a second descriptor in one response"));
        }
        held_.clear();
        protocol::appendFrame(held_, type, 0, payload);
        heldDescriptor_ = std::move(descriptor);
        return Status::ok();
    } catch (...) {
        const std::lock_guard lock(mutex_);
        return failLocked(Status(ErrorCode::Internal, "out of memory writing the response"));
    }
}

Status ResponseWriter::control(FrameType type) noexcept {
    try {
        std::unique_lock lock(mutex_);
        if (error_) {
            return *error_;
        }
        if (fd_ < 0) {
            return {ErrorCode::Internal, "no response in progress"};
        }
        if (ended_) {
            return endedStatus();
        }
        if (!usesThread()) {
            if (Status idle = waitIdleLocked(lock); !idle) {
                return failLocked(std::move(idle));
            }
            Status status = writeQueuedThenLocked(lock, type, {});
            return status ? status : failLocked(std::move(status));
        }
        queueLocked(type, {});
        const bool wake = !busy_;
        lock.unlock();
        if (wake) {
            work_.notify_one();
        }
        return Status::ok();
    } catch (...) {
        const std::lock_guard lock(mutex_);
        return failLocked(Status(ErrorCode::Internal, "out of memory writing a control frame"));
    }
}

Status ResponseWriter::writeQueuedThenLocked(std::unique_lock<std::mutex>& lock, FrameType type,
                                             std::string_view payload,
                                             std::optional<FrameType> then) {
    std::string queued;
    queued.swap(pending_);
    openBody_ = std::string::npos;
    busy_ = true;
    // A held frame goes out with this one, in a write of its own that carries its descriptor.
    std::string held;
    held.swap(held_);
    common::UniqueFd descriptor = std::move(heldDescriptor_);
    // The queued frames go in the descriptor's write too when they are the response's first
    // bytes and small: one socket segment, read whole by the module's read that gets the
    // descriptor (kMaxBytesWithDescriptor).
    bool together = false;
    if (descriptor) {
        protocol::appendFrame(held, type, 0, payload);
        together =
            !queued.empty() && !wrote_ && queued.size() + held.size() <= kMaxBytesWithDescriptor;
        if (together) {
            queued.append(held);
        }
    }
    wrote_ = true;
    lock.unlock();
    Status status = Status::ok();
    if (together) {
        status =
            common::sendWithDescriptor(fd_, queued, descriptor.get(), Deadline::after(timeout_));
        descriptor.reset();  // the kernel holds the file for the module now
    } else if (descriptor) {
        if (!queued.empty()) {
            status = common::writeFully(fd_, queued, Deadline::after(timeout_));
        }
        if (status) {
            status =
                common::sendWithDescriptor(fd_, held, descriptor.get(), Deadline::after(timeout_));
        }
        descriptor.reset();  // the kernel holds the file for the module now
    } else {
        status = writeNow(queued, type, payload, then);
    }
    lock.lock();
    busy_ = false;
    if (pending_.empty()) {
        releaseIfLarge(queued);
        pending_.swap(queued);  // keeps the buffer's capacity for the next response
    } else {
        work_.notify_one();  // control() queued a frame meanwhile: the writer thread sends it
    }
    return status;
}

Status ResponseWriter::finish(FrameType type, std::string_view payload) noexcept {
    try {
        std::unique_lock lock(mutex_);
        if (Status idle = waitIdleLocked(lock); !idle) {
            (void)failLocked(std::move(idle));
        }
        if (error_) {
            releaseIfLarge(pending_);
            openBody_ = std::string::npos;
            held_.clear();
            heldDescriptor_.reset();
            fd_ = -1;
            return *error_;
        }
        if (ended_) {
            // writeLast sent the final frame; nothing can follow it (pending is empty: every
            // other call fails once the response ended).
            fd_ = -1;
            return *ended_ == type && payload.empty() ? Status::ok() : failLocked(endedStatus());
        }
        Status status = writeQueuedThenLocked(lock, type, payload);
        fd_ = -1;
        if (!status) {
            return failLocked(std::move(status));
        }
        return Status::ok();
    } catch (...) {
        abandon();
        return {ErrorCode::Internal, "out of memory ending the response"};
    }
}

void ResponseWriter::abandon() noexcept {
    std::unique_lock lock(mutex_);
    (void)waitIdleLocked(lock);
    releaseIfLarge(pending_);
    openBody_ = std::string::npos;
    held_.clear();
    heldDescriptor_.reset();
    fd_ = -1;
}

Status ResponseWriter::waitIdleLocked(std::unique_lock<std::mutex>& lock) noexcept {
    const auto idle = [this] { return !busy_; };
    if (drained_.wait_until(lock, Clock::now() + timeout_ + kWriterIdleMargin, idle)) {
        return Status::ok();
    }
    // The write in flight outlived its own deadline: make it fail now, so the socket is free.
    if (fd_ >= 0) {
        (void)::shutdown(fd_, SHUT_RDWR);
    }
    if (drained_.wait_until(lock, Clock::now() + kWriterIdleMargin, idle)) {
        return {ErrorCode::Timeout, "timed out writing the response"};
    }
    return {ErrorCode::Internal, "the response writer thread is stuck"};
}

Status ResponseWriter::writeNow(std::string_view queued, FrameType type, std::string_view payload,
                                std::optional<FrameType> then) noexcept {
    std::array<std::array<char, protocol::kFrameHeaderSize>, kFramesPerWrite> headers{};
    std::array<char, protocol::kFrameHeaderSize> thenHeader{};
    if (then) {
        protocol::encodeHeader(*then, 0, 0, thenHeader);
    }
    // Queued data, the frames of this write, and the `then` frame.
    std::array<iovec, 2 * kFramesPerWrite + 2> vec{};
    bool frameDone = false;
    while (!frameDone || !queued.empty()) {
        std::size_t count = 0;
        if (!queued.empty()) {
            // `queued` views the caller's string, alive for this whole call; cppcheck 2.10 takes
            // it for the caller's local and reports a lifetime error that cannot happen.
            // cppcheck-suppress invalidLifetime
            vec[count++] = {.iov_base = const_cast<char*>(queued.data()), .iov_len = queued.size()};
            queued = {};
        }
        if (type != FrameType::Body) {
            protocol::encodeHeader(type, 0, static_cast<std::uint32_t>(payload.size()), headers[0]);
            vec[count++] = {.iov_base = headers[0].data(), .iov_len = headers[0].size()};
            if (!payload.empty()) {
                vec[count++] = {.iov_base = const_cast<char*>(payload.data()),
                                .iov_len = payload.size()};
            }
            frameDone = true;
        } else {
            for (std::size_t i = 0; i < kFramesPerWrite && !payload.empty(); ++i) {
                const std::size_t len =
                    std::min<std::size_t>(payload.size(), protocol::kMaxDataChunk);
                protocol::encodeHeader(FrameType::Body, 0, static_cast<std::uint32_t>(len),
                                       headers[i]);
                vec[count++] = {.iov_base = headers[i].data(), .iov_len = headers[i].size()};
                vec[count++] = {.iov_base = const_cast<char*>(payload.data()), .iov_len = len};
                payload.remove_prefix(len);
            }
            frameDone = payload.empty();
        }
        if (frameDone && then) {
            vec[count++] = {.iov_base = thenHeader.data(), .iov_len = thenHeader.size()};
        }
        if (count > 0) {
            Status status = common::writeFullyV(fd_, std::span<const iovec>(vec.data(), count),
                                                Deadline::after(timeout_));
            if (!status) {
                return status;
            }
        }
    }
    return Status::ok();
}

Status ResponseWriter::failLocked(Status status) {
    if (!error_) {
        error_ = std::move(status);
    }
    return *error_;
}

}  // namespace wsgid::daemon
