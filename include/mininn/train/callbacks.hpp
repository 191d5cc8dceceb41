// mininn: what fit() does between batches and epochs: early stopping, the learning-rate
// schedule, the gradient check for NaN and inf, and the epoch's log.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../core/errors.hpp"
#include "../detail/kernels.hpp"
#include "../layers/spec.hpp"
#include "../optim/schedule.hpp"
#include "evaluate.hpp"
#include "history.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class Opt, class = void>
struct has_learning_rate : std::false_type {
};
template <class Opt>
struct has_learning_rate<
    Opt, std::void_t<decltype(std::declval<Opt&>().set_learning_rate(std::declval<Opt&>().learning_rate()))>>
    : std::true_type {
};

// Puts the network back in the mode it was in, also when an exception leaves fit().
template <class Net>
struct mode_restore {
    Net& net;
    bool was_training;
    ~mode_restore()
    {
        if (was_training)
            net.train();
        else
            net.eval();
    }
};

// Throws numeric_error naming the first parameter gradient that holds NaN or inf, after
// where() ("epoch 3, batch 7"), which is called only then.
template <class Net, class Where>
void check_gradients_finite(Net& net, Where&& where)
{
    bool finite = true;
    net.visit_parameters([&](auto&, auto& g) { finite = finite && all_finite(g.data(), g.size()); });
    if (finite) // the layers' names are built only for the message
        return;
    net.visit_named_parameters([&](std::size_t layer, const std::string& name, const char* role, auto&, auto& g) {
        if (!all_finite(g.data(), g.size()))
            throw numeric_error(cat(where(), ": the gradient of ", role, " in layer ", layer, " (", name,
                                    ") contains NaN or inf; try a smaller learning rate"));
    });
}
template <class Net>
void check_gradients_finite(Net& net, std::size_t epoch, std::size_t batch)
{
    check_gradients_finite(net, [&] { return cat("epoch ", epoch, ", batch ", batch); });
}

// Early stopping's state across epochs: the best watched loss, the epochs since, and the
// weights of the best epoch.
template <class T>
struct early_stopping {
    double best = std::numeric_limits<double>::infinity();
    std::size_t since_best = 0;
    std::vector<xt::xarray<T>> best_params;

    // After an epoch whose watched loss is `watched`: true when patience has run out.
    template <class Net>
    bool observe(Net& net, double watched, std::size_t epoch, const FitOptions& options, History& history)
    {
        if (options.patience == 0)
            return false;
        if (watched < best - options.min_delta) {
            best = watched;
            since_best = 0;
            history.best_epoch = epoch;
            if (options.restore_best_weights) {
                best_params.clear();
                net.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) { best_params.emplace_back(p); });
            }
            return false;
        }
        return ++since_best >= options.patience;
    }

    template <class Net>
    void restore(Net& net, const FitOptions& options) const
    {
        if (options.patience == 0 || !options.restore_best_weights || best_params.empty())
            return;
        std::size_t k = 0;
        net.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) { xt::noalias(p) = best_params[k++]; });
    }
};

// Sets the optimizer's rate for this epoch of the schedule and returns it (NaN for an
// optimizer without learning_rate()).
template <class Opt>
double scheduled_rate(Opt& opt, const Schedule& schedule, double base_rate, std::size_t epoch)
{
    if constexpr (has_learning_rate<Opt>::value) {
        using R = std::decay_t<decltype(opt.learning_rate())>;
        if (schedule.kind() != Schedule::Kind::constant)
            opt.set_learning_rate(static_cast<R>(base_rate * schedule.factor(epoch)));
        return static_cast<double>(opt.learning_rate());
    } else {
        static_cast<void>(opt), static_cast<void>(schedule), static_cast<void>(base_rate), static_cast<void>(epoch);
        return EpochLog::none;
    }
}

// The optimizer's rate at the start, the base of the schedule's factors. Throws
// std::invalid_argument for a schedule and an optimizer without learning_rate().
template <class Opt>
double base_learning_rate(Opt& opt, const Schedule& schedule, const char* who)
{
    if constexpr (has_learning_rate<Opt>::value) {
        static_cast<void>(schedule), static_cast<void>(who);
        return static_cast<double>(opt.learning_rate());
    } else {
        static_cast<void>(opt);
        if (schedule.kind() != Schedule::Kind::constant)
            throw std::invalid_argument(cat(who, ": a learning-rate schedule needs an optimizer with learning_rate() "
                                                 "and set_learning_rate()"));
        return EpochLog::none;
    }
}

// An epoch's log: the mean training loss, the training metrics, the validation scores (if
// any) and the rate.
inline EpochLog epoch_log(std::size_t epoch, double loss, const Scores& train, const Scores* val, double rate)
{
    EpochLog log;
    log.epoch = epoch;
    log.loss = loss;
    log.accuracy = train.accuracy;
    log.mse = train.mse;
    log.mae = train.mae;
    log.r2 = train.r2;
    if (val != nullptr) {
        log.val_loss = val->loss;
        log.val_accuracy = val->accuracy;
        log.val_mse = val->mse;
        log.val_mae = val->mae;
        log.val_r2 = val->r2;
    }
    log.learning_rate = rate;
    return log;
}

} // namespace detail

} // namespace MININN_ISA
} // namespace mininn
