// mininn: what fit() is told (FitOptions) and what it reports (EpochLog, BatchLog, History).
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../optim/schedule.hpp"

namespace mininn {
inline namespace MININN_ISA {
/// What one epoch measured: the training loss and the metrics that fit the loss (see Scores;
/// the others are NaN), over the epoch's batches as they were trained, and the same on the
/// validation set after the epoch (NaN without one).
struct EpochLog {
    static constexpr double none = std::numeric_limits<double>::quiet_NaN();
    std::size_t epoch = 0;
    double loss = 0, accuracy = none, mse = none, mae = none, r2 = none;
    double val_loss = none, val_accuracy = none, val_mse = none, val_mae = none, val_r2 = none;
    double learning_rate = none; ///< the optimizer's rate in this epoch (NaN if it has no learning_rate())
    double seconds = 0;
};

struct BatchLog {
    std::size_t epoch = 0, batch = 0, batches = 0;
    double loss = 0;
};

struct History {
    std::vector<EpochLog> epochs;
    bool stopped_early = false; ///< by early stopping or a callback
    std::size_t best_epoch = 0; ///< the epoch early stopping judged best (restored if asked)
    std::string stop_reason;
};

/// What fit() prints on stdout.
enum class Verbosity {
    silent,   ///< nothing
    progress, ///< a live batch line on an interactive terminal (interactive_stdout()), else nothing
    epochs,   ///< one line per epoch, flushed as it is printed, no escape codes (Keras verbose=2)
    automatic ///< epochs, with the live batch line between them on an interactive terminal
};

struct FitOptions {
    std::size_t epochs = 1;
    std::size_t batch_size = 32;      ///< 0 or >= n: full batch
    bool shuffle = true;              ///< reshuffle the training samples every epoch
    std::uint64_t seed = 0;           ///< for the shuffles and the validation split
    double validation_split = 0;      ///< fraction of the samples held out (ignored with a validation set)
    std::size_t patience = 0;         ///< early stopping after this many epochs without improvement (0: off)
    double min_delta = 0;             ///< an improvement must exceed this
    bool restore_best_weights = true; ///< with early stopping, end with the best epoch's weights
    Schedule schedule;       ///< the learning rate of each epoch: a factor of the optimizer's rate at the start
    std::string checkpoint;  ///< write a checkpoint here after every checkpoint_every epochs (save_checkpoint)
    std::size_t checkpoint_every = 1; ///< with checkpoint: every this many epochs, and after the last
    std::string resume_from; ///< continue from this checkpoint: its weights, optimizer, epoch and generators
    Verbosity verbose = Verbosity::automatic;          ///< what fit prints: see Verbosity
    std::function<bool(const BatchLog&)> on_batch_end; ///< return false to stop training
    std::function<bool(const EpochLog&)> on_epoch_end; ///< return false to stop training
};

namespace detail {

// "epoch 3/20  loss 0.1234  accuracy 0.9650  val_loss 0.1300  val_accuracy 0.9600  1.23 s"
// (regression: "... loss 0.0123  mse 0.0246  mae 0.1234  r2 0.9700 ..."); NaN metrics are left out.
inline void print_epoch(const EpochLog& e, std::size_t epochs)
{
    std::printf("epoch %zu/%zu", e.epoch + 1, epochs);
    auto show = [](const char* name, double v) {
        if (!std::isnan(v))
            std::printf("  %s %.4f", name, v);
    };
    show("loss", e.loss);
    show("accuracy", e.accuracy);
    show("mse", e.mse);
    show("mae", e.mae);
    show("r2", e.r2);
    show("val_loss", e.val_loss);
    show("val_accuracy", e.val_accuracy);
    show("val_mse", e.val_mse);
    show("val_mae", e.val_mae);
    show("val_r2", e.val_r2);
    std::printf("  %.2f s\n", e.seconds);
    std::fflush(stdout);
}

} // namespace detail

} // namespace MININN_ISA
} // namespace mininn
