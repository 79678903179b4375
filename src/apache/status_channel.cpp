// SPDX-License-Identifier: Apache-2.0
// The parent's end of a daemon's status pipe (see status_channel.h). No httpd headers.
#include "apache/status_channel.h"

#include <array>
#include <cerrno>

#include <unistd.h>

#include "common/socket_io.h"

namespace wsgid::apache {

using protocol::StatusType;

StatusChannel::StatusChannel(common::UniqueFd readEnd) : fd_(std::move(readEnd)) {
    if (fd_) {
        (void)common::setNonBlocking(fd_.get(), true);
    }
}

bool StatusChannel::pump() {
    if (!fd_) {
        return false;
    }
    std::array<char, kStatusReadBytes> buf{};
    for (;;) {
        const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
        if (n > 0) {
            feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
            return true;
        }
        if (n == 0) {
            close();
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return false;
        }
        close();
        return true;
    }
}

void StatusChannel::feed(std::string_view bytes) {
    if (!broken_.empty()) {
        return;
    }
    partial_.append(bytes);
    std::size_t pos = 0;
    while (partial_.size() - pos >= protocol::kStatusRecordBytes) {
        const auto record = protocol::decodeStatus(
            std::string_view(partial_).substr(pos, protocol::kStatusRecordBytes));
        pos += protocol::kStatusRecordBytes;
        if (!record) {
            broken_ = "an invalid record";
            break;
        }
        if (++records_ > kMaxStatusRecords) {
            broken_ = "more than " + std::to_string(kMaxStatusRecords) + " records";
            break;
        }
        apply(*record);
    }
    partial_.erase(0, pos);
    if (!broken_.empty()) {
        partial_.clear();
        close();
    }
}

void StatusChannel::apply(const protocol::StatusRecord& record) {
    switch (record.type) {
        case StatusType::Ready:
            ready_ = true;
            break;
        case StatusType::Recycle:
            if (!recycle_) {
                recycle_ = record.reason;
            }
            break;
        case StatusType::Exiting:
        case StatusType::AppExit:
        case StatusType::FatalSignal:
            lastWords_ = record;
            break;
    }
}

void StatusChannel::close() noexcept {
    fd_.reset();
}

}  // namespace wsgid::apache
