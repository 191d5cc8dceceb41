// Counts heap allocations made by this program (not by OpenBLAS) while counting is on.
//
// Include this in exactly one translation unit of a program: it replaces malloc and friends
// for the whole process, forwarding to glibc's own implementations. Allocations whose caller
// lives in libopenblas are not counted: OpenBLAS allocates a small job table on each
// threaded GEMM, which is its business, not mininn's.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <malloc.h>
#if defined(__x86_64__) || defined(__i386__)
// Before the replacements below: clang's copy redeclares posix_memalign without noexcept,
// which it accepts after glibc's declaration but not after a definition of the program's.
#include <mm_malloc.h>
#endif

#include <dlfcn.h>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace alloc_counter {

inline std::atomic<bool> counting{false};
inline std::atomic<long> count{0};
inline std::atomic<long> bytes{0};
inline thread_local bool inside = false;

inline void note(std::size_t n, void* caller)
{
    if (!counting.load(std::memory_order_relaxed) || inside)
        return;
    inside = true;
    Dl_info info{};
    const bool openblas = dladdr(caller, &info) != 0 && info.dli_fname != nullptr &&
                          std::strstr(info.dli_fname, "openblas") != nullptr;
    if (!openblas) {
        count.fetch_add(1);
        bytes.fetch_add(static_cast<long>(n));
    }
    inside = false;
}

/// Runs f with counting on and returns the number of allocations it made.
template <class F>
long allocations_during(F&& f)
{
    count = 0;
    bytes = 0;
    counting = true;
    f();
    counting = false;
    return count.load();
}

} // namespace alloc_counter

extern "C" {
void* malloc(std::size_t n) noexcept
{
    alloc_counter::note(n, __builtin_return_address(0));
    return __libc_malloc(n);
}
void* calloc(std::size_t k, std::size_t n) noexcept
{
    alloc_counter::note(k * n, __builtin_return_address(0));
    return __libc_calloc(k, n);
}
void* realloc(void* p, std::size_t n) noexcept
{
    alloc_counter::note(n, __builtin_return_address(0));
    return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t a, std::size_t n) noexcept
{
    alloc_counter::note(n, __builtin_return_address(0));
    return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept
{
    alloc_counter::note(n, __builtin_return_address(0));
    return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept
{
    alloc_counter::note(n, __builtin_return_address(0));
    void* p = __libc_memalign(a, n);
    if (p == nullptr)
        return ENOMEM;
    *out = p;
    return 0;
}
}
