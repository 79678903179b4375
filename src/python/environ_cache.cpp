// SPDX-License-Identifier: Apache-2.0
// The per-interpreter environ cache (see environ_cache.h).
#include "python/environ_cache.h"

#include <cstring>

namespace wsgid::python {

namespace {

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

// mod_wsgi.version as apps see it. Apps and libraries test `'mod_wsgi.version' in environ` to
// detect Apache, and compare the tuple to gate features. We implement mod_wsgi's request-level
// environ behaviour (4.x/5.x), not 6.0's new mod_wsgi module API (subscribe_events, ...), so we
// claim 5.0.0 rather than a 6.x they would then try to use. Our own version is under
// 'mod_wsgid.version'.
constexpr long kModWsgiCompatVersion[] = {5, 0, 0};

PyRef versionTuple(const long (&parts)[3]) {
    return PyRef::steal(Py_BuildValue("(lll)", parts[0], parts[1], parts[2]));
}

// PACKAGE_VERSION "0.1.0" as (0, 1, 0).
PyRef ownVersionTuple() {
    long parts[3] = {0, 0, 0};
    std::string_view text = PACKAGE_VERSION;
    for (long& part : parts) {
        while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
            part = part * 10 + (text.front() - '0');
            text.remove_prefix(1);
        }
        if (!text.empty()) {
            text.remove_prefix(1);  // the '.'
        }
    }
    return versionTuple(parts);
}

// Whether `text`, made by decodeEnvironValue(…, decoding), is what `bytes` decode to. A latin-1
// str has one byte per character, the bytes it came from; a path decoded with the file system
// encoding is compared only when it is ASCII, which every such encoding decodes as itself.
bool decodesTo(PyObject* text, std::string_view bytes, ValueDecoding decoding) noexcept {
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND ||
        (decoding == ValueDecoding::FileSystem && PyUnicode_IS_ASCII(text) == 0) ||
        static_cast<std::size_t>(PyUnicode_GET_LENGTH(text)) != bytes.size()) {
        return false;
    }
    return bytes.empty() ||
           std::memcmp(PyUnicode_1BYTE_DATA(text), bytes.data(), bytes.size()) == 0;
}

}  // namespace

PyRef decodeEnvironValue(std::string_view bytes, ValueDecoding decoding) {
    const auto size = static_cast<Py_ssize_t>(bytes.size());
    return PyRef::steal(decoding == ValueDecoding::FileSystem
                            ? PyUnicode_DecodeFSDefaultAndSize(bytes.data(), size)
                            : PyUnicode_DecodeLatin1(bytes.data(), size, nullptr));
}

bool EnvironCache::create() {
    for (std::size_t i = 0; i < kEnvironNames.size(); ++i) {
        const std::string_view name = kEnvironNames[i].name;
        PyObject* text =
            PyUnicode_DecodeLatin1(name.data(), static_cast<Py_ssize_t>(name.size()), nullptr);
        if (text == nullptr) {
            return false;
        }
        // Interned: the dict lookups apps make with literal keys compare by identity first, and
        // the hash is computed once.
        PyUnicode_InternInPlace(&text);
        keys_[i] = PyRef::steal(text);
    }
    wsgiVersion_ = PyRef::steal(Py_BuildValue("(ii)", 1, 0));
    http_ = PyRef::steal(PyUnicode_InternFromString("http"));
    https_ = PyRef::steal(PyUnicode_InternFromString("https"));
    modWsgiVersion_ = versionTuple(kModWsgiCompatVersion);
    ownVersion_ = ownVersionTuple();
    return wsgiVersion_ && http_ && https_ && modWsgiVersion_ && ownVersion_;
}

void EnvironCache::clear() noexcept {
    for (auto* refs : {&keys_, &values_}) {
        for (PyRef& ref : *refs) {
            ref.reset();
        }
    }
    for (PyRef* ref : {&wsgiVersion_, &http_, &https_, &modWsgiVersion_, &ownVersion_}) {
        ref->reset();
    }
}

void EnvironCache::abandon() noexcept {
    for (auto* refs : {&keys_, &values_}) {
        for (PyRef& ref : *refs) {
            (void)ref.release();
        }
    }
    for (PyRef* ref : {&wsgiVersion_, &http_, &https_, &modWsgiVersion_, &ownVersion_}) {
        (void)ref->release();
    }
}

PyRef EnvironCache::value(std::size_t slot, std::string_view bytes) {
    const EnvironName& name = kEnvironNames[slot];
    PyRef& kept = values_[slot];
    if (kept && decodesTo(kept.get(), bytes, name.decoding)) {
        return PyRef::borrow(kept.get());
    }
    PyRef made = decodeEnvironValue(bytes, name.decoding);
    if (made && name.valueRepeats && bytes.size() <= kMaxReusedValueBytes) {
        kept = PyRef::borrow(made.get());
    }
    return made;
}

}  // namespace wsgid::python
