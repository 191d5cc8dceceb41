// mininn::distributed: the MPI communicator and the sharding of a data set across its ranks.
#pragma once

#include <mpi.h> // distributed.hpp says what to do when it is missing

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/errors.hpp"
#include "../data/idx.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace distributed {

/// An MPI call that failed, named with MPI's own message.
struct mpi_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

template <class T>
MPI_Datatype mpi_type()
{
    if constexpr (std::is_same_v<T, float>)
        return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>)
        return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return MPI_UINT64_T;
    else if constexpr (std::is_same_v<T, int>)
        return MPI_INT;
    else if constexpr (std::is_same_v<T, char>)
        return MPI_CHAR;
    else
        static_assert(sizeof(T) == 0, "mininn::distributed: no MPI type for this scalar (float, double, uint64, int)");
}

} // namespace detail

/// RAII over an MPI communicator. The default constructor works on MPI_COMM_WORLD, and
/// initialises MPI (thread level MPI_THREAD_FUNNELED: only the calling thread talks to MPI)
/// when nobody has, in which case its destructor finalises it; given a communicator, it
/// initialises nothing. Either way it works on a duplicate, so its collectives never match
/// the caller's messages, and MPI errors on it come back as mpi_error instead of aborting.
/// The Communicator that initialised MPI must outlive every other one.
class Communicator {
public:
    Communicator() : Communicator(MPI_COMM_WORLD, true) {}
    explicit Communicator(MPI_Comm comm) : Communicator(comm, false) {}
    Communicator(const Communicator&) = delete;
    Communicator& operator=(const Communicator&) = delete;
    ~Communicator()
    {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized && comm_ != MPI_COMM_NULL)
            MPI_Comm_free(&comm_);
        if (owns_mpi_ && !finalized)
            MPI_Finalize();
    }

    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }
    bool root() const noexcept { return rank_ == 0; }
    MPI_Comm get() const noexcept { return comm_; }
    /// True when this object initialised MPI (and so will finalise it).
    bool owns_mpi() const noexcept { return owns_mpi_; }

    /// Sums data[0, n) over the ranks, in place (MPI_Allreduce). Every rank must call it.
    template <class T>
    void sum(T* data, std::size_t n) const
    {
        check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), detail::mpi_type<T>(), MPI_SUM, comm_),
              "MPI_Allreduce");
    }
    template <class T>
    T sum(T x) const
    {
        sum(&x, 1);
        return x;
    }
    /// True on every rank when it is true on any. Every rank must call it.
    bool any(bool b) const { return sum(int(b)) > 0; }
    template <class T>
    T min(T x) const
    {
        check(MPI_Allreduce(MPI_IN_PLACE, &x, 1, detail::mpi_type<T>(), MPI_MIN, comm_), "MPI_Allreduce");
        return x;
    }
    template <class T>
    T max(T x) const
    {
        check(MPI_Allreduce(MPI_IN_PLACE, &x, 1, detail::mpi_type<T>(), MPI_MAX, comm_), "MPI_Allreduce");
        return x;
    }
    /// Copies data[0, n) of rank `from` to every rank. Every rank must call it with the same n.
    template <class T>
    void broadcast(T* data, std::size_t n, int from = 0) const
    {
        check(MPI_Bcast(data, static_cast<int>(n), detail::mpi_type<T>(), from, comm_), "MPI_Bcast");
    }
    /// rank `from`'s string on every rank.
    std::string broadcast(std::string s, int from) const
    {
        std::uint64_t n = s.size();
        broadcast(&n, 1, from);
        s.resize(n);
        broadcast(s.data(), n, from);
        return s;
    }
    void barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

    /// Runs f() on every rank, and when it throws on any rank, throws on every rank the lowest
    /// failing rank's error, its message led by "rank r: " (io_error, shape_error and
    /// numeric_error keep their type; anything else becomes std::runtime_error), so that no rank
    /// is left waiting in a later collective. One collective, two more after a failure.
    template <class F>
    void agreed(F&& f) const
    {
        std::string what;
        const int kind = run_catching(f, what);
        if (any(kind != 0))
            raise_agreed(kind, what);
    }

    /// Runs f() and returns 0, or the kind of error it threw (see raise_agreed), its message in what.
    template <class F>
    static int run_catching(F&& f, std::string& what)
    {
        try {
            f();
            return 0;
        } catch (const numeric_error& e) {
            what = e.what();
            return 1;
        } catch (const shape_error& e) {
            what = e.what();
            return 2;
        } catch (const io_error& e) {
            what = e.what();
            return 3;
        } catch (const std::exception& e) {
            what = e.what();
            return 4;
        }
    }

    /// The rare path of agreed(), for callers that have shared "a rank failed" in a collective
    /// of their own: kind 0 on the ranks that did not fail, else 1 numeric_error, 2
    /// shape_error, 3 io_error, 4 anything else. Every rank must call it.
    [[noreturn]] void raise_agreed(int kind, const std::string& what) const
    {
        const int from = min(kind != 0 ? rank_ : size_);
        int k = kind;
        broadcast(&k, 1, from);
        const std::string msg = mininn::detail::cat("rank ", from, ": ", broadcast(what, from));
        if (k == 1)
            throw numeric_error(msg);
        if (k == 2)
            throw shape_error(msg);
        if (k == 3)
            throw io_error(msg);
        throw std::runtime_error(msg);
    }

    /// Sums data[0, n) over the ranks in place, as sum() does, by a ring allreduce: a
    /// reduce-scatter then an allgather, 2 (size - 1) exchanges of n / size values with the
    /// neighbours (MPI_Sendrecv), the bandwidth-optimal schedule. Unlike MPI_Allreduce, whose
    /// algorithms allocate a temporary buffer on every call, it works in scratch[0, n / size
    /// + 1), so a caller that keeps the scratch allocates nothing; and each entry is added in
    /// an order fixed by the rank count alone, the same bits on every rank and every run.
    template <class T>
    void ring_sum(T* data, std::size_t n, T* scratch) const
    {
        if (size_ == 1)
            return;
        const auto N = static_cast<std::size_t>(size_), r = static_cast<std::size_t>(rank_);
        const int right = (rank_ + 1) % size_, left = (rank_ + size_ - 1) % size_;
        const auto begin = [&](std::size_t c) { return c * n / N; }; // chunk c is [begin(c), begin(c + 1))
        const MPI_Datatype type = detail::mpi_type<T>();
        for (std::size_t step = 0; step + 1 < N; ++step) { // chunk (r - step - 1) gains one rank's part
            const std::size_t send = (r + N - step) % N, recv = (r + 2 * N - step - 1) % N;
            const std::size_t rn = begin(recv + 1) - begin(recv);
            check(MPI_Sendrecv(data + begin(send), static_cast<int>(begin(send + 1) - begin(send)), type, right, 0,
                               scratch, static_cast<int>(rn), type, left, 0, comm_, MPI_STATUS_IGNORE),
                  "MPI_Sendrecv");
            T* into = data + begin(recv);
            for (std::size_t i = 0; i < rn; ++i)
                into[i] += scratch[i];
        }
        for (std::size_t step = 0; step + 1 < N; ++step) { // rank r holds chunk (r + 1) complete; pass them on
            const std::size_t send = (r + 1 + N - step) % N, recv = (r + N - step) % N;
            check(MPI_Sendrecv(data + begin(send), static_cast<int>(begin(send + 1) - begin(send)), type, right, 1,
                               data + begin(recv), static_cast<int>(begin(recv + 1) - begin(recv)), type, left, 1,
                               comm_, MPI_STATUS_IGNORE),
                  "MPI_Sendrecv");
        }
    }

    /// Throws mpi_error with MPI's message when rc is not MPI_SUCCESS.
    static void check(int rc, const char* what)
    {
        if (rc == MPI_SUCCESS)
            return;
        char text[MPI_MAX_ERROR_STRING];
        int len = 0;
        MPI_Error_string(rc, text, &len);
        throw mpi_error(std::string("mininn::distributed: ") + what + " failed: " + std::string(text, len));
    }

private:
    Communicator(MPI_Comm comm, bool may_init)
    {
        int initialized = 0, finalized = 0;
        MPI_Initialized(&initialized);
        MPI_Finalized(&finalized);
        if (finalized)
            throw mpi_error("mininn::distributed: MPI has already been finalised");
        if (!initialized) {
            if (!may_init)
                throw mpi_error("mininn::distributed: a communicator was passed in but MPI is not initialised");
            int provided = 0;
            check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
            owns_mpi_ = true;
        }
        check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
        MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0, size_ = 1;
    bool owns_mpi_ = false;
};

/// The part of a data set of `total` samples that one rank holds: samples [first, first +
/// count). Ranks take contiguous parts in rank order; the first total % size ranks hold one
/// sample more, and with fewer samples than ranks the last ranks hold none.
struct Shard {
    std::size_t first = 0, count = 0, total = 0;
    /// For read_idx_images, read_idx_labels and load_mnist.
    SampleRange range() const noexcept { return SampleRange{first, count}; }
    bool contains(std::size_t j) const noexcept { return j >= first && j - first < count; }
};

/// Rank `rank` of `size`'s shard of `total` samples. Throws std::invalid_argument unless
/// 0 <= rank < size.
inline Shard shard(std::size_t total, int rank, int size)
{
    if (size < 1 || rank < 0 || rank >= size)
        throw std::invalid_argument(mininn::detail::cat("distributed::shard: rank ", rank, " of ", size));
    const auto r = static_cast<std::size_t>(rank), s = static_cast<std::size_t>(size);
    const std::size_t base = total / s, extra = total % s;
    return Shard{r * base + std::min(r, extra), base + (r < extra ? 1 : 0), total};
}

/// This rank's shard of `total` samples.
inline Shard shard(const Communicator& comm, std::size_t total)
{
    return shard(total, comm.rank(), comm.size());
}

} // namespace distributed
} // namespace MININN_ISA
} // namespace mininn
