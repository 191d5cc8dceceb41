// mininn: checkpoints that resume training exactly: the weights, the optimizer's state, the
// generators and fit()'s own state in one .npz archive that numpy opens.
//
// Entries besides save()'s ("architecture", "layer<i>.<role>", so load() reads a checkpoint
// as a model): "optimizer" (its name and settings), "optimizer.<slot>.<k>" (Momentum's v,
// Adam's m and v, for parameter k by position), "optimizer.steps", "optimizer.learning_rate",
// "layer<i>.rng" (a Dropout layer's generator), and "fit.state": the epochs done, fit()'s
// shuffling generator, its base learning rate, the schedule's and early stopping's state, and
// "fit.best.<k>" (the weights early stopping would restore).
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "output.hpp"
#include "npz.hpp"
#include "../core/random.hpp"
#include "../optim/optimizer.hpp"
#include "../optim/schedule.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// What fit() needs, beyond the network and the optimizer, to continue exactly.
struct FitState {
    std::size_t epochs_done = 0;
    std::array<std::uint64_t, 6> rng{}; ///< fit()'s shuffling generator after those epochs
    double base_rate = 0;                ///< the rate the schedule's factors multiply
    Schedule::State schedule;
    double best = std::numeric_limits<double>::infinity(); ///< early stopping's best watched loss
    std::size_t since_best = 0, best_epoch = 0;
    std::vector<std::vector<double>>
        best_weights; ///< per saved tensor (Network::visit_tensors), empty if none was kept
};

namespace detail {

template <class Opt, class = void>
struct has_checkpoint_state : std::false_type {
};
template <class Opt>
struct has_checkpoint_state<Opt, std::void_t<decltype(std::declval<Opt&>().restore_state(
                                     std::declval<const Opt&>().checkpoint_state()))>> : std::true_type {
};

template <class L, class = void>
struct has_generator : std::false_type {
};
template <class L>
struct has_generator<L, std::void_t<decltype(std::declval<L&>().generator().set_state({}))>> : std::true_type {
};

template <class V>
std::string npy_vector(const std::vector<V>& v)
{
    std::string out = npy_header(npy_descr<V>(), cat("(", v.size(), ",)"));
    const std::size_t header = out.size();
    out.resize(header + v.size() * sizeof(V));
    if (!v.empty())
        std::memcpy(&out[header], v.data(), v.size() * sizeof(V));
    return out;
}
template <class V>
std::vector<V> values_of(const std::string& data)
{
    std::vector<V> v(data.size() / sizeof(V));
    if (!v.empty())
        std::memcpy(v.data(), data.data(), v.size() * sizeof(V));
    return v;
}

// Calls f(index, layer) for every layer of net that owns a random generator.
template <std::size_t I = 0, class Net, class F>
void each_generator(Net& net, F&& f)
{
    if constexpr (I < Net::depth) {
        auto& l = net.template layer<I>();
        if constexpr (has_generator<std::decay_t<decltype(l)>>::value)
            f(I, l.generator());
        each_generator<I + 1>(net, f);
    }
}

} // namespace detail

/// Writes a checkpoint of net, opt and fit's state to path, atomically (as save()). Throws
/// io_error naming path when it cannot be written.
template <class Net, class Opt>
void save_checkpoint(const std::string& path, Net& net, Opt& opt, const FitState& fit = {})
{
    using T = typename Net::value_type;
    using detail::cat;
    check_output_path(path);
    auto entries = detail::parameter_entries(net);
    auto add = [&](std::string name, std::string blob) { entries.emplace_back(std::move(name), std::move(blob)); };
    const OptimizerState<T> os = opt.checkpoint_state();
    add("optimizer", detail::npy_bytes(os.name));
    for (std::size_t s = 0; s < os.slots.size(); ++s)
        for (std::size_t k = 0; k < os.sizes.size(); ++k)
            add(cat("optimizer.", os.slot_names[s], ".", k), detail::npy_vector(os.slots[s][k]));
    add("optimizer.steps", detail::npy_vector(std::vector<std::uint64_t>{static_cast<std::uint64_t>(os.steps),
                                                                         os.sizes.size()}));
    add("optimizer.learning_rate", detail::npy_vector(std::vector<double>{os.learning_rate}));
    detail::each_generator(net, [&](std::size_t i, const Rng& g) {
        const auto s = g.state();
        add(cat("layer", i, ".rng"), detail::npy_vector(std::vector<std::uint64_t>(s.begin(), s.end())));
    });
    std::vector<std::uint64_t> counts{fit.epochs_done, fit.since_best, fit.best_epoch, fit.best_weights.size()};
    counts.insert(counts.end(), fit.rng.begin(), fit.rng.end());
    add("fit.state", detail::npy_vector(counts));
    add("fit.values", detail::npy_vector(std::vector<double>{fit.base_rate, fit.schedule.factor, fit.schedule.best,
                                                              static_cast<double>(fit.schedule.wait), fit.best}));
    for (std::size_t k = 0; k < fit.best_weights.size(); ++k)
        add(cat("fit.best.", k), detail::npy_vector(fit.best_weights[k]));
    static_cast<void>(detail::npy_descr<T>());
    write_file_atomic(path, detail::npz_build(entries, path));
}

/// Loads a checkpoint written by save_checkpoint into net and opt and returns fit's state.
/// Everything is read and checked first: a checkpoint of another architecture, another
/// optimizer (name and settings) or state of the wrong size changes nothing and throws io_error
/// saying what differs.
template <class Net, class Opt>
FitState load_checkpoint(const std::string& path, Net& net, Opt& opt)
{
    using T = typename Net::value_type;
    using detail::cat;
    std::vector<std::size_t> sizes; // each parameter's size, by position
    net.visit_parameters([&](auto& p, auto&) { sizes.push_back(p.size()); });
    const std::size_t params = sizes.size();
    std::vector<std::size_t> saved; // each saved tensor's (parameters, then state), as the best weights hold them
    net.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) { saved.push_back(p.size()); });
    const std::size_t limit = 4 * detail::npz_max_bytes(net) + 64 * detail::npy_header_max;
    const std::string bytes = detail::read_archive_file(path, limit);
    if (bytes.size() > limit)
        throw io_error(cat(path, ": ", bytes.size(), " bytes, more than a checkpoint of this network can hold (",
                           limit, ")"));
    const detail::npz_reader r(bytes, path);
    const auto weights = detail::read_parameters(net, r);
    OptimizerState<T> os = opt.checkpoint_state(); // its name, slot names, and the rest to be replaced
    const std::string saved_opt = r.text("optimizer");
    if (saved_opt != os.name)
        throw io_error(cat(path, ": written by the optimizer ", saved_opt, ", not ", os.name));
    const auto steps = detail::values_of<std::uint64_t>(r.data("optimizer.steps", "<u8", "2,", 2 * sizeof(std::uint64_t)));
    if (steps[1] != 0 && steps[1] != params)
        throw io_error(cat(path, ": optimizer state for ", steps[1], " parameters; the network has ", params));
    os.steps = static_cast<long>(steps[0]);
    os.sizes = steps[1] != 0 ? sizes : std::vector<std::size_t>{};
    os.slots.assign(os.slot_names.size(), {});
    for (std::size_t s = 0; s < os.slot_names.size(); ++s)
        for (std::size_t k = 0; k < os.sizes.size(); ++k)
            os.slots[s].push_back(detail::values_of<T>(r.data(cat("optimizer.", os.slot_names[s], ".", k),
                                                              detail::npy_descr<T>(), cat(sizes[k], ","),
                                                              sizes[k] * sizeof(T))));
    os.learning_rate = detail::values_of<double>(r.data("optimizer.learning_rate", "<f8", "1,", sizeof(double)))[0];
    if (!(os.learning_rate > 0 && std::isfinite(os.learning_rate)))
        throw io_error(cat(path, ": the saved learning rate ", os.learning_rate, " is not finite and positive"));
    std::vector<std::pair<std::size_t, std::array<std::uint64_t, 6>>> generators;
    detail::each_generator(net, [&](std::size_t i, const Rng&) {
        const auto v = detail::values_of<std::uint64_t>(r.data(cat("layer", i, ".rng"), "<u8", "6,", 48));
        std::array<std::uint64_t, 6> s{};
        std::copy(v.begin(), v.end(), s.begin());
        generators.emplace_back(i, s);
    });
    const auto counts = detail::values_of<std::uint64_t>(r.data("fit.state", "<u8", "10,", 80));
    const auto values = detail::values_of<double>(r.data("fit.values", "<f8", "5,", 40));
    FitState fit;
    fit.epochs_done = counts[0];
    fit.since_best = counts[1];
    fit.best_epoch = counts[2];
    std::copy(counts.begin() + 4, counts.end(), fit.rng.begin());
    fit.base_rate = values[0];
    fit.schedule = Schedule::State{values[1], values[2], static_cast<std::size_t>(values[3])};
    fit.best = values[4];
    if (counts[3] != 0 && counts[3] != saved.size())
        throw io_error(cat(path, ": best weights for ", counts[3], " tensors; the network has ", saved.size()));
    for (std::size_t k = 0; k < counts[3]; ++k)
        fit.best_weights.push_back(detail::values_of<double>(
            r.data(cat("fit.best.", k), "<f8", cat(saved[k], ","), saved[k] * sizeof(double))));

    // Everything is checked: now change the network and the optimizer.
    detail::apply_parameters(net, weights);
    opt.restore_state(std::move(os));
    std::size_t g = 0;
    detail::each_generator(net, [&](std::size_t, Rng& gen) { gen.set_state(generators[g++].second); });
    return fit;
}

} // namespace MININN_ISA
} // namespace mininn
