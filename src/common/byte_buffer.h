// SPDX-License-Identifier: Apache-2.0
// ByteBuffer: a byte queue whose free tail is written in place, so a read goes straight into it.
// No httpd, APR or Python here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace wsgid::common {

/// Bytes appended at the back and consumed at the front, in one heap block that is never
/// zero-filled: a std::string resized for a read would first fill what the read overwrites, and a
/// read into a buffer of its own costs a copy into the string. Room is made by moving the unread
/// bytes to the front, or by a larger block (at least twice the size). Not thread-safe.
class ByteBuffer {
public:
    /// The unread bytes.
    [[nodiscard]] const char* data() const noexcept { return block_.get() + begin_; }
    [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }
    [[nodiscard]] bool empty() const noexcept { return begin_ == end_; }

    /// Room for `n` bytes after the unread ones, to be written and then commit()ted. Valid until
    /// the next call that changes the buffer. May throw std::bad_alloc.
    std::span<char> prepare(std::size_t n) {
        if (capacity_ - end_ < n) {
            const std::size_t unread = size();
            if (unread + n <= capacity_) {
                if (unread != 0) {
                    std::memmove(block_.get(), data(), unread);
                }
            } else {
                const std::size_t capacity = std::max(unread + n, 2 * capacity_);
                auto block = std::make_unique_for_overwrite<char[]>(capacity);
                if (unread != 0) {
                    std::memcpy(block.get(), data(), unread);
                }
                block_ = std::move(block);
                capacity_ = capacity;
            }
            begin_ = 0;
            end_ = unread;
        }
        return {block_.get() + end_, n};
    }

    /// All the room after the unread bytes, at least what the last prepare() asked for: for a
    /// reader that takes whatever fits. Valid until the next call that changes the buffer.
    [[nodiscard]] std::span<char> room() noexcept {
        return {block_.get() + end_, capacity_ - end_};
    }

    /// Appends the first `n` bytes of what prepare() or room() returned (n at most its size).
    void commit(std::size_t n) noexcept { end_ += n; }

    /// Appends a copy of `bytes`. May throw std::bad_alloc.
    void append(std::string_view bytes) {
        if (!bytes.empty()) {
            std::memcpy(prepare(bytes.size()).data(), bytes.data(), bytes.size());
            commit(bytes.size());
        }
    }

    /// Drops the first `n` unread bytes (n at most size()).
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = 0;
            end_ = 0;
        }
    }

    /// Drops the unread bytes and frees the block, for a buffer that will not be written again
    /// soon: consuming every byte keeps the block.
    void release() noexcept {
        block_.reset();
        capacity_ = 0;
        begin_ = 0;
        end_ = 0;
    }

private:
    std::unique_ptr<char[]> block_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;  // block_[begin_, end_) is unread
    std::size_t end_ = 0;
};

}  // namespace wsgid::common
