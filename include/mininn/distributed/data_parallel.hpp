// mininn::distributed: data-parallel gradients, one allreduce per step.
#pragma once

#include "../core/config.hpp"

#include "communicator.hpp"

#include <cstddef>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../io/npz.hpp"
#include "../core/tensor.hpp"
#include "../layers/spec.hpp"
#include "../train/fit.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace distributed {

/// How DataParallel adds the ranks' buffers up.
enum class Reduction {
    ring, ///< Communicator::ring_sum: no allocation, a fixed order of additions; 2 (N - 1) latencies
    mpi   ///< MPI_Allreduce: MPI picks the algorithm (about 2 log2 N latencies at scale), and
          ///< Open MPI's allocate a temporary buffer on every call
};

/// Data-parallel training of one network replicated on every rank of a Communicator. Each
/// rank computes the gradients of its own columns; one allreduce (Communicator::ring_sum)
/// then adds every rank's
/// gradients, weighted by its sample count, together with the loss sum, the sample count and
/// two flags (a failure, a stop request), all in one buffer allocated here. Afterwards every
/// rank holds the gradient of the mean over the global batch, the same bit for bit on every
/// rank, and so takes the same optimizer step.
///
/// Every rank must make the same calls in the same order. A rank with no columns joins with
/// zeros. An exception on one rank (a shape_error, a numeric_error) is raised on every rank,
/// with the message of the lowest failing rank, so no rank is left waiting.
template <class Net>
class DataParallel {
public:
    using T = typename Net::value_type;

    /// Broadcasts net's parameters from rank 0, so that every rank starts from the same
    /// weights. The reduction is the ring by default (see Reduction). Throws std::invalid_argument on every rank when the ranks' networks have
    /// different parameter counts. net must outlive this object.
    DataParallel(const Communicator& comm, Net& net, Reduction reduction = Reduction::ring)
        : comm_(comm), net_(net), params_(net.parameter_count()), reduction_(reduction)
    {
        buf_.resize(params_ + slots);
        scratch_.resize(buf_.size() / static_cast<std::size_t>(comm.size()) + 1);
        broadcast_parameters();
    }

    const Communicator& communicator() const noexcept { return comm_; }
    Net& network() noexcept { return net_; }

    /// Copies rank 0's parameters and layer state (every tensor a saved file holds) to every
    /// rank (one MPI_Bcast). Call it after changing the weights on one rank (load() does).
    void broadcast_parameters()
    {
        std::size_t n = 0;
        net_.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) { n += p.size(); });
        const auto lo = comm_.min(static_cast<std::uint64_t>(n)), hi = comm_.max(static_cast<std::uint64_t>(n));
        if (lo != hi)
            throw std::invalid_argument(mininn::detail::cat("distributed: the ranks' networks differ: between ", lo,
                                                            " and ", hi, " values in their tensors"));
        std::vector<T> all(n);
        std::size_t k = 0;
        net_.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) {
            std::copy(p.begin(), p.end(), all.begin() + static_cast<std::ptrdiff_t>(k));
            k += p.size();
        });
        comm_.broadcast(all.data(), n, 0);
        k = 0;
        net_.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) {
            std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(k), p.size(), p.begin());
            k += p.size();
        });
    }

    /// Forward, loss and backward on this rank's columns X [in, m] (a matrix<T>, or with a Dense
    /// first layer a sparse_matrix<T> or its sparse_batch<T>) and targets y (as
    /// Network::compute_gradients takes them; m may be 0), then the one allreduce. Returns the
    /// mean loss over the global batch, and leaves in every parameter's gradient the mean
    /// gradient over it. With stop_vote, asks every rank to stop (see stop_requested()).
    ///
    /// Throws on every rank what any rank's compute_gradients threw (numeric_error and
    /// shape_error keep their type; "rank r: " leads the message), shape_error when no rank has
    /// a sample, and std::invalid_argument when a float batch has 2^24 samples or more (the
    /// count travels as a float).
    template <class Loss, class XM, class Y>
    T compute_gradients(const Loss& loss, const XM& X, const Y& y, bool stop_vote = false)
    {
        const std::size_t m = X.dimension() == 2 ? X.shape()[1] : 0;
        T local = 0;
        std::string what;
        const int kind = m > 0 ? Communicator::run_catching([&] { local = net_.compute_gradients(loss, X, y); }, what) : 0;
        const T weight = static_cast<T>(m);
        std::size_t k = 0;
        net_.visit_parameters([&](auto&, auto& g) {
            T* out = buf_.data() + k;
            if (m > 0 && kind == 0)
                for (std::size_t i = 0; i < g.size(); ++i)
                    out[i] = g.data()[i] * weight; // rank r adds m_r g_r; the sum over ranks / n is the global mean
            else
                std::fill_n(out, g.size(), T(0));
            k += g.size();
        });
        buf_[params_ + loss_slot] = kind == 0 ? local * weight : T(0);
        buf_[params_ + count_slot] = weight;
        buf_[params_ + fail_slot] = kind != 0 ? T(1) : T(0);
        buf_[params_ + stop_slot] = stop_vote ? T(1) : T(0);
        if (reduction_ == Reduction::ring)
            comm_.ring_sum(buf_.data(), buf_.size(), scratch_.data());
        else
            comm_.sum(buf_.data(), buf_.size());
        ++allreduces_;
        if (buf_[params_ + fail_slot] > 0)
            comm_.raise_agreed(kind, what);
        const T n = buf_[params_ + count_slot];
        if (!(n > 0))
            throw shape_error("distributed: no rank has a sample in this batch");
        if (std::is_same_v<T, float> && n >= T(16777216))
            throw std::invalid_argument("distributed: a float batch of 2^24 samples or more: its count would be "
                                        "inexact; use double or smaller batches");
        samples_ = static_cast<std::size_t>(n);
        stop_ = buf_[params_ + stop_slot] > 0;
        const T inv = T(1) / n;
        k = 0;
        net_.visit_parameters([&](auto&, auto& g) {
            const T* in = buf_.data() + k;
            for (std::size_t i = 0; i < g.size(); ++i)
                g.data()[i] = in[i] * inv;
            k += g.size();
        });
        return buf_[params_ + loss_slot] * inv;
    }

    /// compute_gradients, the check that no gradient holds NaN or inf (the same on every rank,
    /// since the gradients are), then opt.step(net): one full-batch gradient step when X is the
    /// rank's whole shard. Returns the global mean loss. Throws numeric_error naming the step and
    /// the tensor for a NaN or inf gradient, and as compute_gradients does.
    ///
    /// With stop_vote (a signal arrived on this rank, say), every rank learns of it in the same
    /// allreduce: then no rank takes the step, and stop_requested() is true everywhere.
    template <class Loss, class Opt, class Y>
    T step(const Loss& loss, Opt& opt, const matrix<T>& X, const Y& y, bool stop_vote = false)
    {
        const T value = compute_gradients(loss, X, y, stop_vote);
        if (stop_)
            return value;
        mininn::detail::check_gradients_finite(net_, [&] { return mininn::detail::cat("step ", steps_); });
        opt.step(net_);
        ++steps_;
        return value;
    }

    /// The global sample count of the last compute_gradients.
    std::size_t samples() const noexcept { return samples_; }
    /// Whether any rank voted to stop in the last compute_gradients.
    bool stop_requested() const noexcept { return stop_; }
    /// Allreduces run by compute_gradients, and steps taken by step().
    std::size_t allreduces() const noexcept { return allreduces_; }
    std::size_t steps() const noexcept { return steps_; }

private:
    static constexpr std::size_t loss_slot = 0, count_slot = 1, fail_slot = 2, stop_slot = 3, slots = 4;

    const Communicator& comm_;
    Net& net_;
    std::size_t params_;
    Reduction reduction_;
    std::vector<T> buf_, scratch_;
    std::size_t samples_ = 0, allreduces_ = 0, steps_ = 0;
    bool stop_ = false;
};

/// Writes net's parameters to path (mininn::save) on rank 0 only; the other ranks wait for
/// it, and an error there is thrown on every rank. Every rank must call it.
template <class Net>
void save(const Communicator& comm, Net& net, const std::string& path)
{
    std::string error;
    if (comm.root()) {
        try {
            mininn::save(net, path);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    error = comm.broadcast(error, 0);
    if (!error.empty())
        throw io_error(error);
}

/// Loads parameters saved by save() on rank 0 (only rank 0 needs the file) and broadcasts
/// them to every rank. Throws io_error on every rank as mininn::load does on rank 0; the
/// networks are then unchanged.
template <class Net>
void load(DataParallel<Net>& dp, Net& net, const std::string& path)
{
    std::string error;
    if (dp.communicator().root()) {
        try {
            mininn::load(net, path);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    error = dp.communicator().broadcast(error, 0);
    if (!error.empty())
        throw io_error(error);
    dp.broadcast_parameters();
}

} // namespace distributed
} // namespace MININN_ISA
} // namespace mininn
