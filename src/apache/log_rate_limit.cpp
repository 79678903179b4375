// SPDX-License-Identifier: Apache-2.0
// The relay's token bucket and line assembly (see log_rate_limit.h). Pure.
#include "apache/log_rate_limit.h"

#include <algorithm>

#include "common/utf8_cut.h"

namespace wsgid::apache {

namespace {

constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;

}  // namespace

void TokenBucket::refill(RelayClock::time_point now) noexcept {
    if (now <= last_) {
        return;
    }
    const auto elapsed = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count());
    last_ = now;
    // Refill in whole seconds first, so rate x elapsed cannot overflow for any realistic gap.
    const std::uint64_t secs = elapsed / kNanosPerSecond;
    const std::uint64_t nanos = elapsed % kNanosPerSecond;
    if (secs >= burst_ / std::max<std::uint64_t>(rate_, 1) + 1) {
        tokens_ = burst_;
        remainderNs_ = 0;
        return;
    }
    const std::uint64_t partial = rate_ * nanos + remainderNs_;
    const std::uint64_t added = rate_ * secs + partial / kNanosPerSecond;
    remainderNs_ = partial % kNanosPerSecond;
    tokens_ = std::min(burst_, tokens_ + added);
    if (tokens_ == burst_) {
        remainderNs_ = 0;
    }
}

bool TokenBucket::take(std::size_t bytes, RelayClock::time_point now) noexcept {
    refill(now);
    if (bytes > tokens_) {
        return false;
    }
    tokens_ -= bytes;
    return true;
}

void LineAssembler::feed(std::string_view bytes, std::vector<std::string>& out) {
    // A line's body may take maxLine_ - 1 bytes; the '\n' is the last.
    const std::size_t body = maxLine_ > 1 ? maxLine_ - 1 : 1;
    while (!bytes.empty()) {
        const std::size_t nl = bytes.find('\n');
        pending_.append(bytes.substr(0, nl));
        // pending_ grows by at most one read() of the relay before it is cut back here.
        while (pending_.size() > body) {
            const std::size_t cut = common::utf8CutPoint(pending_, body);
            std::string piece = pending_.substr(0, cut);
            piece.push_back('\n');
            out.push_back(std::move(piece));
            pending_.erase(0, cut);
        }
        if (nl == std::string_view::npos) {
            return;
        }
        pending_.push_back('\n');
        out.push_back(std::move(pending_));
        pending_.clear();
        bytes.remove_prefix(nl + 1);
    }
}

void LineAssembler::finish(std::vector<std::string>& out) {
    if (!pending_.empty()) {
        pending_.push_back('\n');
        out.push_back(std::move(pending_));
        pending_.clear();
    }
}

}  // namespace wsgid::apache
