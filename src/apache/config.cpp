// SPDX-License-Identifier: Apache-2.0
// Configuration records: create/merge of the per-server and per-directory records, and the
// GroupRegistry attached to pconf. No directive parsing here (the *_directives.cpp handlers,
// config_parse.cpp), no validation across directives (config_check.cpp).
#include "apache/config.h"

#include <algorithm>
#include <string>

#include "apache/httpd_includes.h"
// httpd_includes.h first: apr_raii.h needs the APR pool API.
#include "apache/apr_raii.h"

namespace wsgid::apache {

namespace {

/// pconf userdata key of the GroupRegistry.
constexpr const char* kRegistryKey = "wsgid::GroupRegistry";

template <typename T>
T* pcallocRecord(apr_pool_t* p) noexcept {
    static_assert(std::is_trivially_destructible_v<T>);
    return static_cast<T*>(apr_pcalloc(p, sizeof(T)));
}

Flag mergeFlag(Flag base, Flag add) noexcept {
    return add != Flag::Unset ? add : base;
}

const char* mergeString(const char* base, const char* add) noexcept {
    return add != nullptr ? add : base;
}

}  // namespace

GroupRegistry& GroupRegistry::get(apr_pool_t* pconf) {
    void* data = nullptr;
    apr_pool_userdata_get(&data, kRegistryKey, pconf);
    if (data != nullptr) {
        return *static_cast<GroupRegistry*>(data);
    }
    auto* registry = attachToPool(pconf, std::make_unique<GroupRegistry>());
    // No userdata cleanup: attachToPool's cleanup deletes the object.
    apr_pool_userdata_setn(registry, kRegistryKey, nullptr, pconf);
    return *registry;
}

DaemonGroup* GroupRegistry::add(std::unique_ptr<DaemonGroup> group) {
    if (find(group->name) != nullptr) {
        return nullptr;
    }
    groups_.push_back(std::move(group));
    return groups_.back().get();
}

const DaemonGroup* GroupRegistry::find(std::string_view name) const noexcept {
    const auto it = std::find_if(groups_.begin(), groups_.end(),
                                 [&](const auto& g) { return g->name == name; });
    return it == groups_.end() ? nullptr : it->get();
}

DaemonGroup* GroupRegistry::find(std::string_view name) noexcept {
    return const_cast<DaemonGroup*>(std::as_const(*this).find(name));
}

void* createDirConfig(apr_pool_t* p, char* /*dir*/) noexcept {
    auto* c = pcallocRecord<DirConfig>(p);
    c->passAuthorization = Flag::Unset;
    c->chunkedRequest = Flag::Unset;
    c->scriptReloading = Flag::Unset;
    c->mapHeadToGet = HeadMapping::Unset;
    c->errorOverride = Flag::Unset;
    c->enableSendfile = Flag::Unset;
    c->ignoreActivity = Flag::Unset;
    return c;
}

void* mergeDirConfig(apr_pool_t* p, void* baseV, void* addV) noexcept {
    const auto* base = static_cast<const DirConfig*>(baseV);
    const auto* add = static_cast<const DirConfig*>(addV);
    auto* c = pcallocRecord<DirConfig>(p);
    c->processGroup = mergeString(base->processGroup, add->processGroup);
    c->applicationGroup = mergeString(base->applicationGroup, add->applicationGroup);
    c->callableObject = mergeString(base->callableObject, add->callableObject);
    c->passAuthorization = mergeFlag(base->passAuthorization, add->passAuthorization);
    c->chunkedRequest = mergeFlag(base->chunkedRequest, add->chunkedRequest);
    // The inner scope's handler scripts are found first.
    if (add->handlerScripts == nullptr || base->handlerScripts == nullptr) {
        c->handlerScripts =
            add->handlerScripts != nullptr ? add->handlerScripts : base->handlerScripts;
    } else {
        c->handlerScripts = apr_array_append(p, add->handlerScripts, base->handlerScripts);
    }
    c->restrictProcess =
        add->restrictProcess != nullptr ? add->restrictProcess : base->restrictProcess;
    c->scriptReloading = mergeFlag(base->scriptReloading, add->scriptReloading);
    c->mapHeadToGet =
        add->mapHeadToGet != HeadMapping::Unset ? add->mapHeadToGet : base->mapHeadToGet;
    c->errorOverride = mergeFlag(base->errorOverride, add->errorOverride);
    c->enableSendfile = mergeFlag(base->enableSendfile, add->enableSendfile);
    c->ignoreActivity = mergeFlag(base->ignoreActivity, add->ignoreActivity);
    c->trustedProxyHeaders =
        add->trustedProxyHeaders != nullptr ? add->trustedProxyHeaders : base->trustedProxyHeaders;
    c->trustedProxies = add->trustedProxies != nullptr ? add->trustedProxies : base->trustedProxies;
    c->accessScript = add->accessScript != nullptr ? add->accessScript : base->accessScript;
    c->authUserScript = add->authUserScript != nullptr ? add->authUserScript : base->authUserScript;
    c->authGroupScript =
        add->authGroupScript != nullptr ? add->authGroupScript : base->authGroupScript;
    c->dispatchScript = add->dispatchScript != nullptr ? add->dispatchScript : base->dispatchScript;
    return c;
}

void* createServerConfig(apr_pool_t* p, server_rec* /*s*/) noexcept {
    auto* c = pcallocRecord<ServerConfig>(p);
    c->aliases = apr_array_make(p, 4, sizeof(ScriptAlias));
    c->passAuthorization = Flag::Unset;
    c->chunkedRequest = Flag::Unset;
    return c;
}

void* mergeServerConfig(apr_pool_t* p, void* baseV, void* addV) noexcept {
    const auto* base = static_cast<const ServerConfig*>(baseV);
    const auto* add = static_cast<const ServerConfig*>(addV);
    auto* c = pcallocRecord<ServerConfig>(p);
    // First match wins at request time, so the vhost's own mounts come first.
    c->aliases = apr_array_append(p, add->aliases, base->aliases);
    c->processGroup = mergeString(base->processGroup, add->processGroup);
    c->applicationGroup = mergeString(base->applicationGroup, add->applicationGroup);
    c->passAuthorization = mergeFlag(base->passAuthorization, add->passAuthorization);
    c->chunkedRequest = mergeFlag(base->chunkedRequest, add->chunkedRequest);
    return c;
}

const ServerConfig* getServerConfig(const server_rec* s) noexcept {
    return static_cast<const ServerConfig*>(ap_get_module_config(s->module_config, &wsgid_module));
}

const DirConfig* getDirConfig(ap_conf_vector_t* perDirConfig) noexcept {
    return static_cast<const DirConfig*>(ap_get_module_config(perDirConfig, &wsgid_module));
}

}  // namespace wsgid::apache
