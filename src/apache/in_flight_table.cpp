// SPDX-License-Identifier: Apache-2.0
// The shared per-group request counters behind max-in-flight= (see in_flight_table.h).
#include "apache/in_flight_table.h"

#include <new>

#include <sys/mman.h>

namespace wsgid::apache {

// The cells follow the object in the same block, so they must stay aligned after it.
static_assert(sizeof(InFlightTable) % alignof(std::atomic<std::int32_t>) == 0);

std::size_t InFlightTable::bytesFor(std::size_t rows, std::size_t groups) noexcept {
    return sizeof(InFlightTable) + rows * (1 + groups) * sizeof(Cell);
}

InFlightTable* InFlightTable::create(void* memory, std::size_t rows, std::size_t groups) noexcept {
    auto* table = new (memory) InFlightTable(rows, groups);
    for (std::size_t r = 0; r < rows; ++r) {
        Cell* cells = table->row(r);
        for (std::size_t i = 0; i <= groups; ++i) {
            new (&cells[i]) Cell(0);
        }
    }
    return table;
}

InFlightTable* InFlightTable::mapShared(std::size_t rows, std::size_t groups) noexcept {
    const std::size_t bytes = bytesFor(rows, groups);
    void* block = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) {
        return nullptr;
    }
    return create(block, rows, groups);
}

void InFlightTable::unmap(InFlightTable* table) noexcept {
    if (table != nullptr) {
        const std::size_t bytes = table->mappedBytes();
        table->~InFlightTable();
        (void)::munmap(table, bytes);
    }
}

InFlightTable::Cell* InFlightTable::row(std::size_t r) const noexcept {
    // The cells live in the same mapping, right after the object.
    auto* base = reinterpret_cast<char*>(const_cast<InFlightTable*>(this)) + sizeof(InFlightTable);
    return reinterpret_cast<Cell*>(base) + r * (1 + groups_);
}

std::optional<std::size_t> InFlightTable::claimRow(pid_t self, const AliveCheck& alive) noexcept {
    for (std::size_t r = 0; r < rows_; ++r) {
        Cell* cells = row(r);
        const std::int32_t owner = cells[0].load();
        // A row of ours is an earlier process's that had our pid: gone, like a dead owner's.
        if (owner != 0 && (owner == self || !alive(owner))) {
            // Its requests died with it and nobody else writes the row: clear it, then free it.
            for (std::size_t g = 1; g <= groups_; ++g) {
                cells[g].store(0);
            }
            std::int32_t expected = owner;
            (void)cells[0].compare_exchange_strong(expected, 0);
        }
    }
    for (std::size_t r = 0; r < rows_; ++r) {
        std::int32_t expected = 0;
        if (row(r)[0].compare_exchange_strong(expected, static_cast<std::int32_t>(self))) {
            return r;
        }
    }
    return std::nullopt;
}

bool InFlightTable::tryEnter(std::size_t r, std::size_t group, int limit) noexcept {
    Cell& mine = row(r)[1 + group];
    mine.fetch_add(1);
    if (inFlight(group) <= limit) {
        return true;
    }
    mine.fetch_sub(1);
    return false;
}

void InFlightTable::leave(std::size_t r, std::size_t group) noexcept {
    row(r)[1 + group].fetch_sub(1);
}

int InFlightTable::inFlight(std::size_t group) const noexcept {
    int total = 0;
    for (std::size_t r = 0; r < rows_; ++r) {
        total += row(r)[1 + group].load();
    }
    return total;
}

InFlightTicket::InFlightTicket(InFlightTable& table, std::size_t row, std::size_t group,
                               int limit) noexcept {
    if (limit == 0) {
        return;
    }
    admitted_ = table.tryEnter(row, group, limit);
    if (admitted_) {
        table_ = &table;
        row_ = row;
        group_ = group;
    }
}

InFlightTicket::InFlightTicket(InFlightTicket&& other) noexcept
    : table_(other.table_), row_(other.row_), group_(other.group_), admitted_(other.admitted_) {
    other.table_ = nullptr;
}

InFlightTicket::~InFlightTicket() {
    if (table_ != nullptr) {
        table_->leave(row_, group_);
    }
}

}  // namespace wsgid::apache
