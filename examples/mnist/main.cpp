// The seed experiment: a 784-64-10 network (Dense, Sigmoid, Dense, Softmax) trained on MNIST
// with full-batch gradient descent and cross-entropy, then evaluated on the test set.
//
//   mnist                      # the seed's settings: 4000 iterations, lr 1, seed 138
//   mnist --iterations 50 --data ../shared/mnist
//   mnist --model lenet        # LeNet-5 with BatchNorm: Adam, cosine schedule, 5 epochs of 64
//
// This unit reads the options, loads the data and handles signals; the training run is in
// train.hpp, compiled once per scalar type and hidden activation (train_<type>_<act>.cpp).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include <CLI/CLI.hpp>
#include <mininn/core/blas.hpp>
#include <mininn/io/output.hpp>
#include <mininn/data/mnist.hpp>
#include <mininn/version.hpp>

#include "example.hpp"

namespace example {

volatile std::sig_atomic_t stop_signal = 0;

int interrupted(const char* where, long done, const std::string& checkpoint)
{
    std::fflush(stdout);
    const char* sig = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
    if (checkpoint.empty() || done == 0)
        std::fprintf(stderr, "mnist: interrupted by %s after %ld %s; no output files written\n", sig, done, where);
    else
        std::fprintf(stderr, "mnist: interrupted by %s after %ld complete %s; no output files written but the "
                             "checkpoint %s (continue with --resume %s)\n",
                     sig, done, where, checkpoint.c_str(), checkpoint.c_str());
    return 128 + stop_signal;
}

} // namespace example

namespace {

using example::Options;

extern "C" void request_stop(int sig)
{
    example::stop_signal = sig;
}

// Whether mpirun/mpiexec (Open MPI, MPICH, PMIx) started this process as one of several ranks.
bool launched_by_mpirun()
{
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
        if (const char* v = std::getenv(name); v != nullptr && std::atoi(v) > 1)
            return true;
    return false;
}

std::string default_data_dir()
{
    if (const char* env = std::getenv("MININN_MNIST_DIR"); env && *env)
        return env;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return std::string(xdg) + "/mininn/mnist";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.local/share/mininn/mnist";
}

template <class T>
int run(const Options& opt)
{
    using namespace mininn;
    const auto t_load = std::chrono::steady_clock::now();
    // A sparse input is read straight from the file, shuffled as it is read (train.hpp): here
    // only the labels and the test set, so that the dense training images never exist.
    const bool sparse = opt.model == "mlp" && opt.input != "dense";
    MnistData<T> data = load_mnist<T>(opt.data, sparse ? SampleRange{0, 0} : SampleRange{});
    if (sparse)
        data.train_labels = read_idx_labels(find_mnist_file(opt.data, "train-labels-idx1-ubyte"), 10);
    if (const std::string warning = blas_warning(); !warning.empty())
        std::fprintf(stderr, "mnist: warning: %s\n", warning.c_str());
    if (!opt.quiet)
        std::printf("Loaded MNIST from %s: %zu training and %zu test images (%.1f s)\n", opt.data.c_str(),
                    data.train_labels.size(), data.test_images.shape()[1], std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());
    if constexpr (std::is_same_v<T, float>) {
        if (opt.model == "lenet")
            return example::train_lenet(opt, data);
    }
    const bool drop = opt.dropout > 0;
    if (opt.activation == "relu")
        return drop ? example::train<T, ReLU, true>(opt, data) : example::train<T, ReLU, false>(opt, data);
    if (opt.activation == "tanh")
        return drop ? example::train<T, Tanh, true>(opt, data) : example::train<T, Tanh, false>(opt, data);
    return drop ? example::train<T, Sigmoid, true>(opt, data) : example::train<T, Sigmoid, false>(opt, data);
}

} // namespace

int main(int argc, char** argv)
{
    Options opt;
    CLI::App app{"mininn MNIST example: the seed's 784-64-10 sigmoid/softmax network, full-batch gradient descent"};
    app.add_option("--data", opt.data, "directory with the four MNIST IDX files, raw or .gz "
                                       "(default: $MININN_MNIST_DIR, else ~/.local/share/mininn/mnist)");
    app.add_option("--iterations", opt.iterations, "full-batch gradient steps (0 with --load: evaluate only)")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--lr", opt.lr, "learning rate (default: 1 for gd, 0.1 for momentum, 1e-3 for adam)")
        ->check(CLI::PositiveNumber);
    app.add_option("--hidden", opt.hidden, "hidden units")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--seed", opt.seed, "seed for the shuffle and the initial weights")->capture_default_str();
    app.add_option("--log-every", opt.log_every, "print the cost every N iterations (0: never)")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--dtype", opt.dtype, "scalar type")->capture_default_str()
        ->check(CLI::IsMember({"float", "double"}));
    app.add_option("--init", opt.init, "weight initializer")->capture_default_str()
        ->check(CLI::IsMember({"normal", "xavier", "he"}));
    app.add_option("--predictions", opt.predictions, "write index,true,predicted for the test set to this CSV");
    app.add_option("--history", opt.history, "write iteration,cost,elapsed_s to this CSV");
    app.add_option("--digits", opt.digits, "digits in the classification report")->capture_default_str()
        ->check(CLI::Range(1, 10));
    app.add_flag("--quiet", opt.quiet, "print only the final results");
    app.add_option("--epochs", opt.epochs, "train for N shuffled mini-batch epochs instead of --iterations")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--batch-size", opt.batch_size, "mini-batch size with --epochs (0: full batch)")
        ->capture_default_str();
    app.add_option("--optimizer", opt.optimizer, "gd, momentum (0.9) or adam")->capture_default_str()
        ->check(CLI::IsMember({"gd", "momentum", "adam"}));
    app.add_option("--activation", opt.activation, "hidden activation")->capture_default_str()
        ->check(CLI::IsMember({"sigmoid", "relu", "tanh"}));
    app.add_option("--save", opt.save, "save the trained weights to this .npz (numpy.load reads it)");
    app.add_option("--load", opt.load, "start from weights saved by --save (same --hidden, --activation, --dtype)");
    app.add_option("--preset", opt.preset,
                   "fast: ReLU, He init, Adam, mini-batches; reaches 97 % in a few seconds (explicit options win)")
        ->check(CLI::IsMember({"fast"}));
    app.add_option("--dropout", opt.dropout, "drop probability of a Dropout layer after the hidden activation")
        ->check(CLI::Range(0.0, 0.99));
    app.add_option("--schedule", opt.schedule, "learning-rate schedule with --epochs: constant, or cosine "
                                                "(with --warmup epochs)")
        ->capture_default_str()
        ->check(CLI::IsMember({"constant", "cosine"}));
    app.add_option("--warmup", opt.warmup, "warm-up epochs of the cosine schedule")->check(CLI::NonNegativeNumber);
    app.add_option("--checkpoint", opt.checkpoint,
                   "with --epochs: write a checkpoint here after every --checkpoint-every epochs and the last");
    app.add_option("--checkpoint-every", opt.checkpoint_every, "epochs between checkpoints")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--resume", opt.resume, "with --epochs: continue from a checkpoint written by --checkpoint "
                                           "(same network, optimizer and --epochs; bit-identical to an "
                                           "uninterrupted run)");
    app.add_flag("--distributed", opt.distributed,
                 "train data-parallel across the ranks of an MPI job: mpirun -np N --bind-to none mnist "
                 "--distributed (each rank reads only its shard)");
    app.add_option("--input", opt.input, "the training input: dense, sparse (the first layer touches only "
                                         "non-zero pixels), or auto (sparse when at most half are non-zero)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "dense", "sparse"}));
    app.add_option("--model", opt.model,
                   "mlp: the seed's network (--hidden, --activation, ...); lenet: LeNet-5 "
                   "with BatchNorm, in float, by mini-batch epochs (default: Adam 3e-3, cosine schedule, 5 epochs "
                   "of 64)")
        ->capture_default_str()
        ->check(CLI::IsMember({"mlp", "lenet"}));
    bool blas_advice = false;
    app.add_flag("--blas-advice", blas_advice,
                 "print the OPENBLAS_CORETYPE this CPU needs for fast GEMMs (empty if none) and exit");
    app.set_version_flag("--version", std::string("mnist example, mininn ") + mininn::version());
    CLI11_PARSE(app, argc, argv);
    if (opt.preset == "fast") {
        const auto unset = [&](const char* name) { return app.count(name) == 0; };
        if (unset("--activation"))
            opt.activation = "relu";
        if (unset("--init"))
            opt.init = "he";
        if (unset("--optimizer"))
            opt.optimizer = "adam";
        if (unset("--lr"))
            opt.lr = 2e-3;
        if (unset("--epochs"))
            opt.epochs = 6;
        if (unset("--batch-size"))
            opt.batch_size = 64;
    }
    if (opt.model == "lenet") {
        for (const char* name : {"--iterations", "--hidden", "--activation", "--init", "--dropout", "--input",
                                 "--preset", "--distributed"})
            if (app.count(name) != 0) {
                std::fprintf(stderr, "mnist: error: %s is for --model mlp; --model lenet has its own network\n", name);
                return 2;
            }
        if (opt.dtype != "float") {
            std::fprintf(stderr, "mnist: error: --model lenet trains in float only\n");
            return 2;
        }
        // Adam 3e-3 on a cosine schedule over 5 epochs of 64: above 99 % (examples/mnist/README.md)
        if (app.count("--optimizer") == 0)
            opt.optimizer = "adam";
        if (app.count("--lr") == 0 && opt.optimizer == "adam")
            opt.lr = 3e-3;
        if (app.count("--epochs") == 0)
            opt.epochs = 5;
        if (app.count("--batch-size") == 0)
            opt.batch_size = 64;
        if (app.count("--schedule") == 0)
            opt.schedule = "cosine";
        if (opt.epochs <= 0) {
            std::fprintf(stderr, "mnist: error: --model lenet trains by --epochs, at least 1\n");
            return 2;
        }
    }
    if ((!opt.checkpoint.empty() || !opt.resume.empty()) && opt.epochs <= 0) {
        std::fprintf(stderr, "mnist: error: --checkpoint and --resume need --epochs (fit() writes them per epoch)\n");
        return 2;
    }
    if (opt.schedule != "constant" && opt.epochs <= 0) {
        std::fprintf(stderr, "mnist: error: --schedule %s needs --epochs (fit() applies it per epoch)\n",
                     opt.schedule.c_str());
        return 2;
    }
    if (blas_advice) {
        std::printf("%s\n", mininn::suggested_coretype().c_str());
        return 0;
    }
    if (opt.data.empty())
        opt.data = default_data_dir();
#ifndef MININN_EXAMPLE_MPI
    if (opt.distributed) {
        std::fprintf(stderr, "mnist: error: --distributed needs MPI, and this build has none (install "
                             "libopenmpi-dev openmpi-bin and rebuild)\n");
        return 2;
    }
#endif
    if (!opt.distributed && launched_by_mpirun())
        std::fprintf(stderr, "mnist: warning: started by mpirun with several ranks but without --distributed: "
                             "each rank trains the whole data set on its own\n");

    // Every line reaches a pipe or a file as it is printed, and a run that is stopped keeps them.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    try {
        // Output files are checked before hours of training, not after.
        for (const std::string* out : {&opt.history, &opt.predictions, &opt.save, &opt.checkpoint})
            if (!out->empty())
                mininn::check_output_path(*out);
#ifdef MININN_EXAMPLE_MPI
        if (opt.distributed)
            return example::run_distributed(opt);
#endif
        return opt.dtype == "double" ? run<double>(opt) : run<float>(opt);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "mnist: error: %s\n", e.what());
        return 1;
    }
}
