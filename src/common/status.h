// SPDX-License-Identifier: Apache-2.0
// Status and Result<T>: error values for code that must not throw (std::expected is C++23).
// No httpd, APR or Python here.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace wsgid::common {

/// Broad error classes; each layer maps them to its own outcome (HTTP status, exit code, ...).
enum class ErrorCode {
    Ok = 0,
    InvalidArgument,  ///< bad configuration or argument
    ProtocolError,    ///< malformed or unexpected frame
    LimitExceeded,    ///< a hard limit from protocol/limits.h was hit
    Timeout,          ///< a deadline passed
    Closed,           ///< the peer closed the connection
    IoError,          ///< a system call failed (message carries errno text)
    NotFound,         ///< a file, user or group does not exist
    Internal,         ///< a bug or an unexpected state
};

/// Success, or an error code with a human-readable message.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok() { return {}; }

    [[nodiscard]] bool isOk() const noexcept { return code_ == ErrorCode::Ok; }
    explicit operator bool() const noexcept { return isOk(); }
    [[nodiscard]] ErrorCode code() const noexcept { return code_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
    ErrorCode code_ = ErrorCode::Ok;
    std::string message_;
};

/// A value of type T, or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
public:
    // Implicit on purpose: `return value;` and `return status;` build the Result. By reference,
    // not by value: the value goes straight into the Result, with no parameter object in between
    // (a large T returned from deep in a request would otherwise sit on the stack twice).
    // cppcheck-suppress noExplicitConstructor
    Result(const T& value) : v_(value) {}  // NOLINT(google-explicit-constructor)
    // cppcheck-suppress noExplicitConstructor
    Result(T&& value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    // cppcheck-suppress noExplicitConstructor
    Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
    Result(ErrorCode code, std::string message) : v_(Status(code, std::move(message))) {}

    [[nodiscard]] bool isOk() const noexcept { return std::holds_alternative<T>(v_); }
    explicit operator bool() const noexcept { return isOk(); }

    /// The value; only valid when isOk().
    [[nodiscard]] T& value() & { return std::get<T>(v_); }
    [[nodiscard]] const T& value() const& { return std::get<T>(v_); }
    [[nodiscard]] T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    /// The error; only valid when !isOk().
    [[nodiscard]] const Status& status() const { return std::get<Status>(v_); }

private:
    std::variant<T, Status> v_;
};

}  // namespace wsgid::common
