// mininn::detail: one persistent worker thread that shares a sweep with the caller.
//
// OpenBLAS's pthread workers keep spinning on their core for a while after every GEMM. A
// thread started or woken right after a GEMM is often placed on the caller's own core, and
// the two halves of the sweep then run one after the other. So, on Linux, the worker is
// pinned for each job to the allowed cores other than the caller's, where the spinning
// OpenBLAS worker yields to it. The worker is started on first use (its only allocation) and
// joined by the destructor; a failure to start it just means running both halves here.
//
// Waking a sleeping thread can cost tens of microseconds in a virtual machine, as much as a
// mini-batch's sparse product. So both sides of a handoff first wait by spinning, yielding the
// core to any other runnable thread, for up to spin_for: the worker for the next job after
// each one (a training loop posts jobs far more often than that), the caller for the worker's
// half. Only then do they sleep on the condition variables.
#pragma once

#include "../core/config.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <system_error>
#include <thread>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

class helper_thread {
public:
    /// How long either side spins before it sleeps.
    static constexpr std::chrono::microseconds spin_for{500};

    helper_thread() = default;
    helper_thread(const helper_thread&) = delete;
    helper_thread& operator=(const helper_thread&) = delete;
    ~helper_thread()
    {
        if (!thread_.joinable())
            return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_.store(true);
        }
        wake_.notify_one();
        thread_.join();
    }

    /// Runs f(1) on the worker and f(0) here, and returns when both are done. f must not
    /// throw. Runs f(0) then f(1) here when the process may use only one core or the worker
    /// cannot be started.
    template <class F>
    void run_on_both(F& f)
    {
        if (!start()) {
            f(0);
            f(1);
            return;
        }
        pin_away_from_caller();
        job_ = [](void* p) { (*static_cast<F*>(p))(1); };
        arg_ = &f;
        const unsigned seq = posted_.load(std::memory_order_relaxed) + 1;
        bool sleeping;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            posted_.store(seq, std::memory_order_release); // publishes job_ and arg_
            sleeping = worker_sleeps_;
        }
        if (sleeping)
            wake_.notify_one();
        f(0);
        const auto finished = [&] { return done_.load(std::memory_order_acquire) == seq; };
        if (spin_until(finished))
            return;
        std::unique_lock<std::mutex> lock(mutex_);
        caller_sleeps_ = true;
        finished_.wait(lock, finished);
        caller_sleeps_ = false;
    }

    /// Jobs the worker thread has run; read it from the thread that calls run_on_both.
    std::size_t jobs() const noexcept { return jobs_; }

private:
    bool start()
    {
        if (thread_.joinable())
            return true;
        if (failed_ || allowed_cores() < 2)
            return false;
        try {
            thread_ = std::thread([this] { loop(); });
        } catch (const std::system_error&) {
            failed_ = true;
        }
        return !failed_;
    }

    template <class P>
    static bool spin_until(P&& ready)
    {
        const auto until = std::chrono::steady_clock::now() + spin_for;
        for (;;) {
            for (int i = 0; i < 64; ++i)
                if (ready())
                    return true;
            if (std::chrono::steady_clock::now() >= until)
                return ready();
            std::this_thread::yield();
        }
    }

    void loop()
    {
        unsigned seen = 0;
        const auto called = [&] {
            return stop_.load(std::memory_order_acquire) || posted_.load(std::memory_order_acquire) != seen;
        };
        for (;;) {
            if (!spin_until(called)) {
                std::unique_lock<std::mutex> lock(mutex_);
                worker_sleeps_ = true;
                wake_.wait(lock, called);
                worker_sleeps_ = false;
            }
            if (stop_.load(std::memory_order_acquire))
                return;
            seen = posted_.load(std::memory_order_acquire);
            job_(arg_);
            ++jobs_;
            bool sleeping;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                done_.store(seen, std::memory_order_release); // publishes jobs_ and the job's writes
                sleeping = caller_sleeps_;
            }
            if (sleeping)
                finished_.notify_one();
        }
    }

    static int allowed_cores()
    {
#ifdef __linux__
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            return CPU_COUNT(&set);
#endif
        return static_cast<int>(std::thread::hardware_concurrency());
    }

    void pin_away_from_caller()
    {
#ifdef __linux__
        const int here = sched_getcpu();
        if (here < 0 || here >= CPU_SETSIZE || here == pinned_away_from_)
            return;
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) != 0)
            return;
        CPU_CLR(here, &set);
        if (CPU_COUNT(&set) > 0 && pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set) == 0)
            pinned_away_from_ = here;
#endif
    }

    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_, finished_;
    void (*job_)(void*) = nullptr; // the posted job, published by posted_
    void* arg_ = nullptr;
    std::atomic<unsigned> posted_{0}, done_{0};          // the last job posted, and the last one finished
    std::atomic<bool> stop_{false};                      // set under mutex_
    bool worker_sleeps_ = false, caller_sleeps_ = false; // under mutex_
    bool failed_ = false;
    std::size_t jobs_ = 0;
    int pinned_away_from_ = -1;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
