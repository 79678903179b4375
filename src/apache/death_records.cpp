// SPDX-License-Identifier: Apache-2.0
// The shared table of daemon deaths (see death_records.h). POSIX only; no httpd headers.
#include "apache/death_records.h"

#include <new>
#include <thread>

#include <sys/mman.h>

namespace wsgid::apache {

namespace {

/// How often waitForDeath looks again: a few dozen looks within the wait, each a scan of a few
/// KiB of memory.
constexpr std::chrono::milliseconds kDeathPollInterval{20};

// packed: bits 0-31 value, 32-39 cause, 40-47 reason, 48-55 flags.
constexpr std::uint64_t kFlagCoreDumped = 1;
constexpr std::uint64_t kFlagCoreDumpPossible = 2;
constexpr std::uint64_t kFlagKilledByParent = 4;
constexpr unsigned kCauseShift = 32;
constexpr unsigned kReasonShift = 40;
constexpr unsigned kFlagsShift = 48;
constexpr std::uint64_t kByte = 0xff;
constexpr std::uint64_t kValueMask = 0xffffffffULL;

std::uint64_t pack(const DaemonDeath& d) noexcept {
    std::uint64_t flags = 0;
    flags |= d.coreDumped ? kFlagCoreDumped : 0;
    flags |= d.coreDumpPossible ? kFlagCoreDumpPossible : 0;
    flags |= d.killedByParent ? kFlagKilledByParent : 0;
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(d.value))) |
           (static_cast<std::uint64_t>(d.cause) << kCauseShift) |
           (static_cast<std::uint64_t>(d.reason) << kReasonShift) | (flags << kFlagsShift);
}

DaemonDeath unpack(std::uint64_t p) noexcept {
    DaemonDeath d;
    d.value = static_cast<int>(static_cast<std::uint32_t>(p & kValueMask));
    d.cause = static_cast<DaemonDeath::Cause>((p >> kCauseShift) & kByte);
    d.reason = static_cast<protocol::StopReason>((p >> kReasonShift) & kByte);
    const std::uint64_t flags = (p >> kFlagsShift) & kByte;
    d.coreDumped = (flags & kFlagCoreDumped) != 0;
    d.coreDumpPossible = (flags & kFlagCoreDumpPossible) != 0;
    d.killedByParent = (flags & kFlagKilledByParent) != 0;
    return d;
}

std::int64_t toNs(DeathClock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

DeathRecords* DeathRecords::mapShared() noexcept {
    void* block = ::mmap(nullptr, sizeof(DeathRecords), PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) {
        return nullptr;
    }
    return new (block) DeathRecords();
}

void DeathRecords::unmap(DeathRecords* table) noexcept {
    if (table != nullptr) {
        table->~DeathRecords();
        (void)::munmap(table, sizeof(DeathRecords));
    }
}

void DeathRecords::protectReadOnly() noexcept {
    (void)::mprotect(this, sizeof(DeathRecords), PROT_READ);
}

void DeathRecords::publish(pid_t pid, DeathClock::time_point when,
                           const DaemonDeath& death) noexcept {
    const std::uint32_t index = next_.load(std::memory_order_relaxed);
    next_.store((index + 1) % kDeathRecordEntries, std::memory_order_relaxed);
    Entry& e = entries_[index];
    const std::uint32_t seq = e.seq.load(std::memory_order_relaxed);
    e.seq.store(seq + 1, std::memory_order_relaxed);  // odd: being written
    std::atomic_thread_fence(std::memory_order_release);
    e.pid.store(pid, std::memory_order_relaxed);
    e.whenNs.store(toNs(when), std::memory_order_relaxed);
    e.packed.store(pack(death), std::memory_order_relaxed);
    e.seq.store(seq + 2, std::memory_order_release);  // even: complete
}

std::optional<DaemonDeath> DeathRecords::find(pid_t pid,
                                              DeathClock::time_point notBefore) const noexcept {
    std::optional<DaemonDeath> best;
    std::int64_t bestWhen = toNs(notBefore) - 1;
    for (const Entry& e : entries_) {
        if (e.pid.load(std::memory_order_relaxed) != pid) {
            continue;
        }
        const std::uint32_t before = e.seq.load(std::memory_order_acquire);
        if ((before & 1U) != 0) {
            continue;  // being written; the next look sees it complete
        }
        const std::int32_t p = e.pid.load(std::memory_order_relaxed);
        const std::int64_t when = e.whenNs.load(std::memory_order_relaxed);
        const std::uint64_t packed = e.packed.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (e.seq.load(std::memory_order_relaxed) != before || p != pid) {
            continue;
        }
        if (when > bestWhen) {
            bestWhen = when;
            best = unpack(packed);
        }
    }
    return best;
}

std::optional<DaemonDeath> waitForDeath(const DeathRecords& table, pid_t pid,
                                        DeathClock::time_point notBefore,
                                        std::chrono::milliseconds wait) {
    const auto deadline = DeathClock::now() + wait;
    for (;;) {
        if (auto found = table.find(pid, notBefore)) {
            return found;
        }
        if (DeathClock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(kDeathPollInterval);
    }
}

}  // namespace wsgid::apache
