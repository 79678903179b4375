// SPDX-License-Identifier: Apache-2.0
// RAII over APR pools: ScopedPool, PoolCleanup and attachToPool<T>(). Include after
// httpd_includes.h (this header needs the APR pool API).
#pragma once

#include <memory>
#include <utility>

namespace wsgid::apache {

/// Owns a pool created with apr_pool_create; destroys it on scope exit.
class ScopedPool {
public:
    explicit ScopedPool(apr_pool_t* parent) noexcept {
        if (apr_pool_create(&pool_, parent) != APR_SUCCESS) {
            pool_ = nullptr;
        }
    }
    ~ScopedPool() {
        if (pool_ != nullptr) {
            apr_pool_destroy(pool_);
        }
    }
    ScopedPool(const ScopedPool&) = delete;
    ScopedPool& operator=(const ScopedPool&) = delete;
    ScopedPool(ScopedPool&&) = delete;
    ScopedPool& operator=(ScopedPool&&) = delete;

    [[nodiscard]] apr_pool_t* get() const noexcept { return pool_; }

private:
    apr_pool_t* pool_ = nullptr;
};

namespace detail {
template <typename T>
apr_status_t deleteObject(void* p) noexcept {
    delete static_cast<T*>(p);
    return APR_SUCCESS;
}
}  // namespace detail

/// Hands `object` to `pool`: it is deleted when the pool is cleared or destroyed. Returns the raw
/// pointer, valid until then. The destructor must not throw.
template <typename T>
T* attachToPool(apr_pool_t* pool, std::unique_ptr<T> object) noexcept {
    T* raw = object.release();
    apr_pool_cleanup_register(pool, raw, detail::deleteObject<T>, apr_pool_cleanup_null);
    return raw;
}

/// A pool cleanup registered for the lifetime of this object and killed when it goes away, for
/// work that must also run if the pool dies first (e.g. closing a socket owned by a request).
class PoolCleanup {
public:
    using Fn = apr_status_t (*)(void*);
    PoolCleanup(apr_pool_t* pool, void* data, Fn fn) noexcept : pool_(pool), data_(data), fn_(fn) {
        apr_pool_cleanup_register(pool_, data_, fn_, apr_pool_cleanup_null);
    }
    ~PoolCleanup() { apr_pool_cleanup_kill(pool_, data_, fn_); }
    PoolCleanup(const PoolCleanup&) = delete;
    PoolCleanup& operator=(const PoolCleanup&) = delete;
    PoolCleanup(PoolCleanup&&) = delete;
    PoolCleanup& operator=(PoolCleanup&&) = delete;

private:
    apr_pool_t* pool_;
    void* data_;
    Fn fn_;
};

}  // namespace wsgid::apache
