// SPDX-License-Identifier: Apache-2.0
// Shared memory between processes that do not trust each other: a sealed memfd whose size no
// holder can change (so no reader's mapping can ever fault past a truncated end), and a mapping
// of one that unmaps itself. No httpd, APR or Python here.
#pragma once

#include <cstddef>
#include <span>
#include <utility>

#include "common/status.h"
#include "common/unique_fd.h"

namespace wsgid::common {

/// A new memfd of `bytes` zero bytes named `name` (for /proc/PID/fd listings), sealed against
/// any change of size and of its seals. Close-on-exec: pass it to a child on purpose.
Result<UniqueFd> makeSealedSharedMemory(const char* name, std::size_t bytes) noexcept;

/// A MAP_SHARED mapping of a descriptor, unmapped when destroyed. Move-only.
class SharedMapping {
public:
    SharedMapping() noexcept = default;
    /// Maps the first `bytes` of `fd`, read-write or read-only. Fails (InvalidArgument) when the
    /// descriptor is smaller, or is a memfd that can still shrink: a peer could then truncate it
    /// and make this process's reads fault.
    static Result<SharedMapping> map(int fd, std::size_t bytes, bool writable) noexcept;

    SharedMapping(const SharedMapping&) = delete;
    SharedMapping& operator=(const SharedMapping&) = delete;
    SharedMapping(SharedMapping&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    SharedMapping& operator=(SharedMapping&& other) noexcept;
    ~SharedMapping();

    [[nodiscard]] std::span<std::byte> bytes() const noexcept {
        return {static_cast<std::byte*>(data_), size_};
    }
    [[nodiscard]] bool valid() const noexcept { return data_ != nullptr; }

private:
    SharedMapping(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace wsgid::common
