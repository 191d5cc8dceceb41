// mininn: learning-rate schedules for fit().
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include "../core/errors.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// The factor that multiplies the optimizer's base rate (its rate when fit() starts) in each
/// epoch. A value type: fit() copies it, and its state (for reduce-on-plateau) is that copy's.
///   constant()                        1
///   step(every, gamma)                gamma^floor(epoch / every)
///   exponential(gamma)                gamma^epoch
///   cosine(epochs, warmup, min)       (e + 1) / (warmup + 1) for e < warmup, then
///                                     min + (1 - min) (1 + cos(pi (e - warmup) / (epochs - warmup))) / 2
///                                     (PyTorch's CosineAnnealingLR after a linear warm-up); min after
///   reduce_on_plateau(f, patience, min_delta, min)
///                                     multiplied by f after `patience` epochs in which the watched
///                                     loss (validation, else training) did not fall below the best
///                                     by more than min_delta; never below min (Keras's ReduceLROnPlateau)
/// Every factor is > 0, so every rate is valid. The factories throw std::invalid_argument for
/// parameters outside their ranges.
class Schedule {
public:
    enum class Kind { constant, step, exponential, cosine, plateau };

    Schedule() = default;
    static Schedule constant() { return {}; }
    static Schedule step(std::size_t every, double gamma)
    {
        if (every == 0)
            throw std::invalid_argument("Schedule::step: every must be at least 1 epoch");
        check_factor("Schedule::step", "gamma", gamma);
        Schedule s(Kind::step);
        s.every_ = every;
        s.gamma_ = gamma;
        return s;
    }
    static Schedule exponential(double gamma)
    {
        check_factor("Schedule::exponential", "gamma", gamma);
        Schedule s(Kind::exponential);
        s.gamma_ = gamma;
        return s;
    }
    static Schedule cosine(std::size_t epochs, std::size_t warmup = 0, double min_factor = 0)
    {
        if (epochs == 0 || warmup >= epochs)
            throw std::invalid_argument(detail::cat("Schedule::cosine: need 0 <= warmup < epochs, got warmup ", warmup,
                                                    " of ", epochs, " epochs"));
        if (!(min_factor >= 0 && min_factor <= 1))
            throw std::invalid_argument(detail::cat("Schedule::cosine: min_factor must be in [0, 1], got ", min_factor));
        Schedule s(Kind::cosine);
        s.every_ = epochs;
        s.warmup_ = warmup;
        s.min_ = min_factor;
        return s;
    }
    static Schedule reduce_on_plateau(double factor = 0.1, std::size_t patience = 10, double min_delta = 0,
                                      double min_factor = 1e-6)
    {
        check_factor("Schedule::reduce_on_plateau", "factor", factor);
        if (!(min_delta >= 0) || !std::isfinite(min_delta))
            throw std::invalid_argument(detail::cat("Schedule::reduce_on_plateau: min_delta must be >= 0, got ", min_delta));
        if (!(min_factor > 0 && min_factor <= 1))
            throw std::invalid_argument(
                detail::cat("Schedule::reduce_on_plateau: min_factor must be in (0, 1], got ", min_factor));
        Schedule s(Kind::plateau);
        s.gamma_ = factor;
        s.every_ = patience;
        s.delta_ = min_delta;
        s.min_ = min_factor;
        return s;
    }

    Kind kind() const noexcept { return kind_; }

    /// The factor of epoch e (0-based). For reduce-on-plateau, the current one (e is unused).
    double factor(std::size_t e) const
    {
        switch (kind_) {
        case Kind::constant:
            return 1;
        case Kind::step:
            return std::pow(gamma_, static_cast<double>(e / every_));
        case Kind::exponential:
            return std::pow(gamma_, static_cast<double>(e));
        case Kind::cosine: {
            if (e < warmup_)
                return static_cast<double>(e + 1) / static_cast<double>(warmup_ + 1);
            if (e >= every_)
                return std::max(min_, std::numeric_limits<double>::min());
            const double t = static_cast<double>(e - warmup_) / static_cast<double>(every_ - warmup_);
            const double f = min_ + (1 - min_) * (1 + std::cos(M_PI * t)) / 2;
            return std::max(f, std::numeric_limits<double>::min());
        }
        case Kind::plateau:
            return current_;
        }
        return 1;
    }

    /// Tells the schedule the loss it watches at the end of an epoch (only reduce-on-plateau
    /// uses it). A NaN loss counts as no improvement.
    void observe(double watched)
    {
        if (kind_ != Kind::plateau)
            return;
        if (watched < best_ - delta_) {
            best_ = watched;
            wait_ = 0;
        } else if (++wait_ >= every_) {
            current_ = std::max(min_, current_ * gamma_);
            wait_ = 0;
        }
    }

    /// What a checkpoint must keep to resume reduce-on-plateau exactly: the current factor, the
    /// best loss so far and the epochs waited since.
    struct State {
        double factor = 1, best = std::numeric_limits<double>::infinity();
        std::size_t wait = 0;
    };
    State state() const noexcept { return {current_, best_, wait_}; }
    void set_state(const State& s) noexcept
    {
        current_ = s.factor;
        best_ = s.best;
        wait_ = s.wait;
    }

private:
    explicit Schedule(Kind k) : kind_(k) {}
    static void check_factor(const char* who, const char* what, double v)
    {
        if (!(v > 0 && v <= 1))
            throw std::invalid_argument(detail::cat(who, ": ", what, " must be in (0, 1], got ", v));
    }

    Kind kind_ = Kind::constant;
    std::size_t every_ = 1, warmup_ = 0;
    double gamma_ = 1, min_ = 0, delta_ = 0;
    double current_ = 1, best_ = std::numeric_limits<double>::infinity();
    std::size_t wait_ = 0;
};

} // namespace MININN_ISA
} // namespace mininn
