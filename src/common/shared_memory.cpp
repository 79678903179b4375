// SPDX-License-Identifier: Apache-2.0
// Sealed shared memory and its mapping (see shared_memory.h).
#include "common/shared_memory.h"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/socket_io.h"

namespace wsgid::common {

namespace {

/// Seals that fix a shared memory's size for good: a peer can neither shrink it (readers would
/// fault), grow it, nor lift the seals.
constexpr int kSizeSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

}  // namespace

Result<UniqueFd> makeSealedSharedMemory(const char* name, std::size_t bytes) noexcept {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        return Status(ErrorCode::IoError, "memfd_create: " + errnoText(errno));
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
        return Status(ErrorCode::IoError, "ftruncate: " + errnoText(errno));
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, kSizeSeals) != 0) {
        return Status(ErrorCode::IoError, "sealing: " + errnoText(errno));
    }
    return fd;
}

Result<SharedMapping> SharedMapping::map(int fd, std::size_t bytes, bool writable) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return Status(ErrorCode::IoError, "fstat: " + errnoText(errno));
    }
    if (bytes == 0 || st.st_size < 0 || static_cast<std::size_t>(st.st_size) < bytes) {
        return Status(ErrorCode::InvalidArgument, "holds " + std::to_string(st.st_size) +
                                                      " bytes, " + std::to_string(bytes) +
                                                      " expected");
    }
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
        return Status(ErrorCode::InvalidArgument, "not sealed against shrinking");
    }
    void* data =
        ::mmap(nullptr, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
        return Status(ErrorCode::IoError, "mmap: " + errnoText(errno));
    }
    return SharedMapping(data, bytes);
}

SharedMapping& SharedMapping::operator=(SharedMapping&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) {
            (void)::munmap(data_, size_);
        }
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

SharedMapping::~SharedMapping() {
    if (data_ != nullptr) {
        (void)::munmap(data_, size_);
    }
}

}  // namespace wsgid::common
