// The mnist example's parts shared by its translation units: main.cpp (options, data,
// signals) and one train_<type>_<activation>.cpp per scalar type and hidden activation, so
// that no unit compiles every network type (see train.hpp).
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <string>

#include <mininn/layers/activations.hpp>
#include <mininn/data/mnist.hpp>

namespace example {

struct Options {
    std::string data;
    int iterations = 4000;
    double lr = 0; // 0: the optimizer's default (default_lr)
    std::size_t hidden = 64;
    std::uint64_t seed = 138;
    int log_every = 100;
    std::string dtype = "float";
    std::string init = "normal";
    std::string predictions, history;
    int digits = 2;
    bool quiet = false;
    int epochs = 0; // > 0: shuffled mini-batch epochs instead of full-batch iterations
    std::size_t batch_size = 128;
    std::string optimizer = "gd";
    std::string activation = "sigmoid";
    std::string preset;
    std::string save, load;
    double dropout = 0;                // > 0: a Dropout layer after the hidden activation
    std::string schedule = "constant"; // the learning-rate schedule with --epochs
    int warmup = 0;                    // warm-up epochs of the cosine schedule
    std::string checkpoint, resume;    // with --epochs: write a checkpoint every checkpoint_every epochs / resume one
    int checkpoint_every = 1;
    bool distributed = false;          // data-parallel across the ranks of an MPI job (distributed.cpp)
    std::string input = "auto";        // the first layer's input: dense, sparse, or auto (sparse when <= 50 % non-zero)
    std::string model = "mlp";         // mlp (the seed's network), or lenet (train_lenet.cpp)
};

/// Trains across the ranks of the MPI job this process is part of (distributed.cpp, built
/// when MPI is found); returns the exit code.
int run_distributed(const Options& opt);

/// The learning rate an optimizer gets when --lr is not given: the seed's 1 for gradient
/// descent, 0.1 for momentum 0.9 (the same step once the velocity builds up), Adam's 1e-3.
inline double default_lr(const std::string& optimizer)
{
    return optimizer == "adam" ? 1e-3 : optimizer == "momentum" ? 0.1 : 1.0;
}

// The signal that asked the run to stop (SIGINT or SIGTERM), or 0. Training stops at the next
// step boundary and nothing is written, so an interrupted run leaves no partial output file.
extern volatile std::sig_atomic_t stop_signal;

/// Prints why the run stopped and returns the exit code (128 + the signal). checkpoint: the
/// checkpoint file the run keeps writing, if any.
int interrupted(const char* where, long done, const std::string& checkpoint = {});

/// Trains the network for the options on data (shuffled in place), evaluates it on the test
/// set, prints the results and writes the output files; returns the exit code.
template <class T, template <class> class Act, bool Dropout>
int train(const Options& opt, mininn::MnistData<T>& data);

/// --model lenet: LeNet-5 with BatchNorm, in float, by mini-batch epochs (train_lenet.cpp).
int train_lenet(const Options& opt, mininn::MnistData<float>& data);

// Each is compiled in its own train_<type>_<activation>[_dropout].cpp.
#define EXAMPLE_TRAIN(T, Act)                                                                                  \
    extern template int train<T, mininn::Act, false>(const Options&, mininn::MnistData<T>&);                  \
    extern template int train<T, mininn::Act, true>(const Options&, mininn::MnistData<T>&);
EXAMPLE_TRAIN(float, Sigmoid)
EXAMPLE_TRAIN(double, Sigmoid)
EXAMPLE_TRAIN(float, ReLU)
EXAMPLE_TRAIN(double, ReLU)
EXAMPLE_TRAIN(float, Tanh)
EXAMPLE_TRAIN(double, Tanh)
#undef EXAMPLE_TRAIN

} // namespace example
