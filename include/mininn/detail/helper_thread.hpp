// mininn::detail: one persistent worker thread that shares a sweep with the caller.
//
// OpenBLAS's pthread workers keep spinning on their core for a while after every GEMM. A
// thread started or woken right after a GEMM is often placed on the caller's own core, and
// the two halves of the sweep then run one after the other. So, on Linux, the worker is
// pinned for each job to the allowed cores other than the caller's, where the spinning
// OpenBLAS worker yields to it. The worker is started on first use (its only allocation) and
// joined by the destructor; a failure to start it just means running both halves here.
#pragma once

#include "isa.hpp"

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
    helper_thread() = default;
    helper_thread(const helper_thread&) = delete;
    helper_thread& operator=(const helper_thread&) = delete;
    ~helper_thread()
    {
        if (!thread_.joinable())
            return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
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
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = [](void* p) { (*static_cast<F*>(p))(1); };
            arg_ = &f;
            done_ = false;
        }
        wake_.notify_one();
        f(0);
        std::unique_lock<std::mutex> lock(mutex_);
        finished_.wait(lock, [this] { return done_; });
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

    void loop()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return stop_ || job_ != nullptr; });
            if (stop_)
                return;
            void (*job)(void*) = job_;
            void* arg = arg_;
            job_ = nullptr;
            lock.unlock();
            job(arg);
            lock.lock();
            ++jobs_;
            done_ = true;
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
    void (*job_)(void*) = nullptr;
    void* arg_ = nullptr;
    bool done_ = false, stop_ = false, failed_ = false;
    std::size_t jobs_ = 0;
    int pinned_away_from_ = -1;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
