// SPDX-License-Identifier: Apache-2.0
// Status pipe records (see daemon_status.h). Pure: no syscalls, no httpd, no Python.
#include "protocol/daemon_status.h"

namespace wsgid::protocol {

namespace {

/// httpd's APEXIT_CHILDSICK and APEXIT_CHILDFATAL (mpm_common.h), and what a daemon exits with
/// instead (a plain failure status).
constexpr int kHttpdChildSick = 7;
constexpr int kHttpdChildFatal = 15;
constexpr int kSafeFailureStatus = 1;

}  // namespace

int httpdSafeExitStatus(int status) noexcept {
    const int code = status & 0xff;  // what a wait status keeps of it
    return code == kHttpdChildSick || code == kHttpdChildFatal ? kSafeFailureStatus : status;
}

std::array<char, kStatusRecordBytes> encodeStatus(const StatusRecord& record) noexcept {
    const auto value = static_cast<std::uint32_t>(record.value);
    return {static_cast<char>(kStatusMarker),          static_cast<char>(record.type),
            static_cast<char>(record.reason),          static_cast<char>(record.flags),
            static_cast<char>(value & 0xffU),          static_cast<char>((value >> 8U) & 0xffU),
            static_cast<char>((value >> 16U) & 0xffU), static_cast<char>((value >> 24U) & 0xffU)};
}

std::optional<StatusRecord> decodeStatus(std::string_view bytes) noexcept {
    if (bytes.size() != kStatusRecordBytes) {
        return std::nullopt;
    }
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    if (byte(0) != kStatusMarker) {
        return std::nullopt;
    }
    const std::uint8_t type = byte(1);
    if (type < static_cast<std::uint8_t>(StatusType::Ready) ||
        type > static_cast<std::uint8_t>(StatusType::FatalSignal)) {
        return std::nullopt;
    }
    if (byte(2) > kMaxStopReason || (byte(3) & ~kStatusCoreDumpPossible) != 0) {
        return std::nullopt;
    }
    const std::uint32_t value = byte(4) | (static_cast<std::uint32_t>(byte(5)) << 8U) |
                                (static_cast<std::uint32_t>(byte(6)) << 16U) |
                                (static_cast<std::uint32_t>(byte(7)) << 24U);
    return StatusRecord{.type = static_cast<StatusType>(type),
                        .reason = static_cast<StopReason>(byte(2)),
                        .flags = byte(3),
                        .value = static_cast<std::int32_t>(value)};
}

std::string_view toString(StopReason reason) noexcept {
    switch (reason) {
        case StopReason::None:
            return "no reason";
        case StopReason::Signal:
            return "a stop signal";
        case StopReason::MaximumRequests:
            return "maximum-requests";
        case StopReason::RestartInterval:
            return "restart-interval";
        case StopReason::InactivityTimeout:
            return "inactivity-timeout";
        case StopReason::MaximumMemory:
            return "maximum-memory";
        case StopReason::CpuTimeLimit:
            return "cpu-time-limit";
        case StopReason::Evicted:
            return "eviction (SIGUSR1)";
        case StopReason::RequestTimeout:
            return "request-timeout";
        case StopReason::DeadlockTimeout:
            return "deadlock-timeout";
        case StopReason::StartupTimeout:
            return "startup-timeout";
        case StopReason::LostThread:
            return "a lost server thread";
        case StopReason::StartupFailure:
            return "a start-up failure";
    }
    return "an unknown reason";
}

}  // namespace wsgid::protocol
