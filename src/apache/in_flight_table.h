// SPDX-License-Identifier: Apache-2.0
// InFlightTable: how many requests each daemon group has in progress across all httpd children
// of one configuration generation, in memory they share, so that max-in-flight= can refuse a
// request at once when one group already ties up its share of httpd's workers. No httpd headers
// (tests/unit/apache/in_flight_table_test.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include <sys/types.h>

namespace wsgid::apache {

/// Largest max-in-flight= a group may set: far above any httpd's MaxRequestWorkers, so the
/// counters (32-bit) cannot overflow and a typo fails configtest.
inline constexpr int kMaxInFlightLimit = 1000000;

/// Requests in progress, per group, counted in one row per httpd child. Each child counts in a
/// row it claimed by its pid, so a child that dies in the middle of requests leaves a row that
/// the next child to start reclaims, not a count that never comes down. All fields are
/// lock-free atomics in a shared mapping: any process and thread may use it.
class InFlightTable {
public:
    /// Bytes of a table with `rows` rows of `groups` counters.
    static std::size_t bytesFor(std::size_t rows, std::size_t groups) noexcept;

    /// A zeroed table built in `memory` (at least bytesFor(rows, groups) bytes, aligned for the
    /// table, zero-filled as a fresh anonymous mapping is). The table does not own the memory.
    static InFlightTable* create(void* memory, std::size_t rows, std::size_t groups) noexcept;

    /// A new table in an anonymous shared mapping, inherited by processes forked later; nullptr if
    /// it cannot be mapped. httpd parent only.
    static InFlightTable* mapShared(std::size_t rows, std::size_t groups) noexcept;
    /// Unmaps a table made by mapShared() in this process (other processes keep their mapping).
    static void unmap(InFlightTable* table) noexcept;

    /// Tells whether a process still runs (kill(pid, 0) in the module; a fake in tests).
    using AliveCheck = std::function<bool(pid_t)>;

    /// An httpd child starting: first clears every row whose owner is gone (its counts belonged
    /// to requests that died with it), then takes a free row for `self`. std::nullopt when all
    /// rows are taken (more children than rows: the child then does not count).
    std::optional<std::size_t> claimRow(pid_t self, const AliveCheck& alive) noexcept;

    /// Counts one request of `group` in `row` unless the group would then have more than `limit`
    /// in progress; true when counted (call leave() when it ends). Two children racing for the
    /// last place may both be refused, never both admitted.
    bool tryEnter(std::size_t row, std::size_t group, int limit) noexcept;
    /// The request counted by a successful tryEnter() ended.
    void leave(std::size_t row, std::size_t group) noexcept;

    /// Requests of `group` in progress now, over all rows (a snapshot).
    [[nodiscard]] int inFlight(std::size_t group) const noexcept;

    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t groups() const noexcept { return groups_; }

    InFlightTable(const InFlightTable&) = delete;
    InFlightTable& operator=(const InFlightTable&) = delete;
    InFlightTable(InFlightTable&&) = delete;
    InFlightTable& operator=(InFlightTable&&) = delete;
    ~InFlightTable() = default;

private:
    InFlightTable(std::size_t rows, std::size_t groups) noexcept : rows_(rows), groups_(groups) {}

    using Cell = std::atomic<std::int32_t>;
    static_assert(Cell::is_always_lock_free, "the table is shared between processes");

    /// Each row: the owner's pid, then one counter per group. The cells follow the object.
    [[nodiscard]] Cell* row(std::size_t r) const noexcept;
    [[nodiscard]] std::size_t mappedBytes() const noexcept { return bytesFor(rows_, groups_); }

    std::size_t rows_;
    std::size_t groups_;
};

/// One request counted in an InFlightTable for as long as the ticket lives (RAII over
/// tryEnter/leave). Request thread only.
class InFlightTicket {
public:
    /// No table, or no row for this child: nothing is counted and the request may proceed.
    InFlightTicket() noexcept = default;
    /// Counts a request of `group` in `row` if the group stays within `limit` (0: no limit).
    InFlightTicket(InFlightTable& table, std::size_t row, std::size_t group, int limit) noexcept;
    ~InFlightTicket();
    InFlightTicket(const InFlightTicket&) = delete;
    InFlightTicket& operator=(const InFlightTicket&) = delete;
    /// Takes over the count: the moved-from ticket holds none.
    InFlightTicket(InFlightTicket&& other) noexcept;
    InFlightTicket& operator=(InFlightTicket&&) = delete;

    /// False when the group already had `limit` requests in progress: answer 503 at once.
    [[nodiscard]] bool admitted() const noexcept { return admitted_; }

private:
    InFlightTable* table_ = nullptr;  ///< set while a count is held
    std::size_t row_ = 0;
    std::size_t group_ = 0;
    bool admitted_ = true;
};

}  // namespace wsgid::apache
