// The seed experiment: a 784-64-10 network (Dense, Sigmoid, Dense, Softmax) trained on MNIST
// with full-batch gradient descent and cross-entropy, then evaluated on the test set.
//
//   mnist                      # the seed's settings: 4000 iterations, lr 1, seed 138
//   mnist --iterations 50 --data ../shared/mnist
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <mininn/mininn.hpp>

namespace {

// The signal that asked the run to stop (SIGINT or SIGTERM), or 0. Training stops at the next
// step boundary and nothing is written, so an interrupted run leaves no partial output file.
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void request_stop(int sig)
{
    stop_signal = sig;
}

int interrupted(const char* where, long done)
{
    std::fflush(stdout);
    std::fprintf(stderr, "mnist: interrupted by %s after %ld %s; no output files written\n",
                 stop_signal == SIGINT ? "SIGINT" : "SIGTERM", done, where);
    return 128 + stop_signal;
}

struct Options {
    std::string data;
    int iterations = 4000;
    double lr = 1.0;
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
};

std::string default_data_dir()
{
    if (const char* env = std::getenv("MININN_MNIST_DIR"); env && *env)
        return env;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return std::string(xdg) + "/mininn/mnist";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.local/share/mininn/mnist";
}

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0)
{
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// A one-line live status, only when stdout is a terminal.
class Progress {
public:
    explicit Progress(bool enabled) : enabled_(enabled && ::isatty(STDOUT_FILENO)) {}
    void update(int it, int total, double cost, double elapsed)
    {
        if (!enabled_ || elapsed - last_ < 0.25)
            return;
        last_ = elapsed;
        const double eta = it > 0 ? elapsed / it * (total - it) : 0.0;
        std::printf("\r\033[Kiteration %d/%d  cost %.5f  elapsed %.1f s  ETA %.1f s", it, total, cost, elapsed, eta);
        std::fflush(stdout);
    }
    void clear()
    {
        if (enabled_)
            std::printf("\r\033[K");
    }

private:
    bool enabled_;
    double last_ = -1;
};

std::string confusion_text(const xt::xtensor<std::size_t, 2>& C)
{
    std::ostringstream os;
    os << "Confusion matrix (rows: true label, columns: predicted label)\n      ";
    for (std::size_t k = 0; k < C.shape()[1]; ++k)
        os << std::string(6 - std::to_string(k).size(), ' ') << k;
    os << '\n';
    for (std::size_t i = 0; i < C.shape()[0]; ++i) {
        os << std::string(6 - std::to_string(i).size(), ' ') << i;
        for (std::size_t k = 0; k < C.shape()[1]; ++k)
            os << std::string(6 - std::min<std::size_t>(6, std::to_string(C(i, k)).size()), ' ') << C(i, k);
        os << '\n';
    }
    return os.str();
}

// Steps any optimizer through one type, so each network type is compiled once.
template <class Net>
struct AnyOptimizer {
    std::function<void(Net&)> fn;
    void step(Net& net) { fn(net); }
};

template <class Net, class T>
AnyOptimizer<Net> make_optimizer(const Options& opt)
{
    const T lr = static_cast<T>(opt.lr);
    if (opt.optimizer == "momentum")
        return {[o = mininn::Momentum<T>(lr, T(0.9))](Net& n) mutable { o.step(n); }};
    if (opt.optimizer == "adam")
        return {[o = mininn::Adam<T>(lr)](Net& n) mutable { o.step(n); }};
    return {[o = mininn::GD<T>(lr)](Net& n) mutable { o.step(n); }};
}

template <class T, template <class> class Act>
int train(const Options& opt, mininn::MnistData<T>& data)
{
    using namespace mininn;
    // The seed shuffles the training set, then draws the weights; both come from one seeded
    // stream. The shuffle is done in place: a second copy of the training set would cost 188 MB.
    Rng rng(opt.seed);
    const auto order = permutation(data.train_images.shape()[1], rng);
    permute_columns_in_place(data.train_images, order);
    permute_in_place(data.train_labels, order);
    const matrix<T>& X = data.train_images;
    const label_vector& y = data.train_labels;

    const std::size_t d = X.shape()[0];
    auto make = [&](auto init) {
        return Network{Dense<T>(d, opt.hidden, init, rng), Act<T>{}, Dense<T>(opt.hidden, 10, init, rng), Softmax{}};
    };
    auto net = [&] {
        if (opt.init == "xavier")
            return make(init::xavier);
        if (opt.init == "he")
            return make(init::he);
        return make(init::normal);
    }();
    using Net = decltype(net);
    AnyOptimizer<Net> optimizer = make_optimizer<Net, T>(opt);
    if (!opt.load.empty()) {
        load(net, opt.load);
        if (!opt.quiet)
            std::printf("Loaded weights from %s\n", opt.load.c_str());
    }
    const CrossEntropy loss;

    const bool minibatch = opt.epochs > 0;
    if (!opt.quiet) {
        std::printf("Training %zu-%zu-10 (%s, %s, init %s, %s lr %g, seed %llu) ", d, opt.hidden, opt.dtype.c_str(),
                    opt.activation.c_str(), opt.init.c_str(), opt.optimizer.c_str(), opt.lr,
                    static_cast<unsigned long long>(opt.seed));
        if (minibatch)
            std::printf("for %d epochs of batch %zu\n", opt.epochs, opt.batch_size);
        else
            std::printf("for %d full-batch iterations\n", opt.iterations);
        std::printf("BLAS: %s, %d threads\n", blas_info().config.c_str(), blas_info().threads);
    }
    std::ostringstream history;
    const auto t0 = clock_type::now();
    if (minibatch) {
        history << "epoch,loss,accuracy,elapsed_s\n";
        FitOptions fo;
        fo.epochs = static_cast<std::size_t>(opt.epochs);
        fo.batch_size = opt.batch_size;
        fo.seed = opt.seed;
        fo.progress = !opt.quiet;
        fo.on_batch_end = [](const BatchLog&) { return stop_signal == 0; };
        fo.on_epoch_end = [&](const EpochLog& e) {
            history << e.epoch << ',' << e.loss << ',' << e.accuracy << ',' << seconds_since(t0) << '\n';
            if (!opt.quiet)
                std::printf("Epoch %zu loss: %.5f  accuracy: %.4f  (%.2f s)\n", e.epoch, e.loss, e.accuracy,
                            e.seconds);
            return true;
        };
        const History h = fit(net, loss, optimizer, X, y, fo);
        if (stop_signal != 0)
            return interrupted("epochs", static_cast<long>(h.epochs.size()));
    } else {
        history << "iteration,cost,elapsed_s\n";
        Progress progress(!opt.quiet);
        for (int it = 0; it < opt.iterations; ++it) {
            if (stop_signal != 0) {
                progress.clear();
                return interrupted("iterations", it);
            }
            T cost;
            try {
                cost = net.compute_gradients(loss, X, y);
            } catch (const numeric_error& e) {
                progress.clear();
                throw numeric_error(detail::cat("iteration ", it, ": ", e.what(), " (try a smaller --lr)"));
            }
            const double elapsed = seconds_since(t0);
            history << it << ',' << cost << ',' << elapsed << '\n';
            if (opt.log_every > 0 && it % opt.log_every == 0 && !opt.quiet) {
                progress.clear();
                std::printf("Epoch %d cost: %.5f\n", it, static_cast<double>(cost));
            }
            progress.update(it + 1, opt.iterations, cost, elapsed);
            optimizer.step(net);
        }
        progress.clear();
    }
    const double train_s = seconds_since(t0);
    const auto [final_cost, train_acc] = evaluate(net, loss, X, y, minibatch ? 10000 : 0);
    std::printf("Final cost: %.5f\n", final_cost);
    if (minibatch)
        std::printf("Training time: %.2f s (%.3f s per epoch), training accuracy %.4f\n", train_s,
                    train_s / opt.epochs, train_acc);
    else
        std::printf("Training time: %.1f s (%.1f ms per iteration)\n", train_s,
                    1000.0 * train_s / std::max(1, opt.iterations));

    struct rusage usage {};
    if (::getrusage(RUSAGE_SELF, &usage) == 0) // ru_maxrss is in KiB on Linux
        std::printf("Peak memory: %.1f MB (data %.1f MB)\n", static_cast<double>(usage.ru_maxrss) * 1024 / 1e6,
                    static_cast<double>((X.size() + data.test_images.size()) * sizeof(T)) / 1e6);
    const label_vector pred = net.predict(data.test_images);
    const double acc = accuracy(data.test_labels, pred);
    std::printf("\nTest accuracy: %.2f %%\n\n", 100.0 * acc);
    std::cout << confusion_text(confusion_matrix(data.test_labels, pred)) << '\n';
    std::cout << classification_report(data.test_labels, pred, opt.digits);

    if (stop_signal != 0)
        return interrupted(minibatch ? "epochs" : "iterations", minibatch ? opt.epochs : opt.iterations);
    if (!opt.history.empty())
        write_file_atomic(opt.history, history.str());
    if (!opt.save.empty()) {
        save(net, opt.save);
        if (!opt.quiet)
            std::printf("Saved the trained weights to %s\n", opt.save.c_str());
    }
    if (!opt.predictions.empty()) {
        std::ostringstream csv;
        csv << "index,true,predicted\n";
        for (std::size_t j = 0; j < pred.size(); ++j)
            csv << j << ',' << data.test_labels(j) << ',' << pred(j) << '\n';
        write_file_atomic(opt.predictions, csv.str());
    }
    return 0;
}

template <class T>
int run(const Options& opt)
{
    using namespace mininn;
    const auto t_load = clock_type::now();
    MnistData<T> data = load_mnist<T>(opt.data);
    if (const std::string warning = blas_warning(); !warning.empty())
        std::fprintf(stderr, "mnist: warning: %s\n", warning.c_str());
    if (!opt.quiet)
        std::printf("Loaded MNIST from %s: %zu training and %zu test images (%.1f s)\n", opt.data.c_str(),
                    data.train_images.shape()[1], data.test_images.shape()[1], seconds_since(t_load));
    if (opt.activation == "relu")
        return train<T, ReLU>(opt, data);
    if (opt.activation == "tanh")
        return train<T, Tanh>(opt, data);
    return train<T, Sigmoid>(opt, data);
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
    app.add_option("--lr", opt.lr, "learning rate")->capture_default_str()->check(CLI::PositiveNumber);
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
    bool blas_advice = false;
    app.add_flag("--blas-advice", blas_advice,
                 "print the OPENBLAS_CORETYPE this CPU needs for fast GEMMs (empty if none) and exit");
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
    if (blas_advice) {
        std::printf("%s\n", mininn::suggested_coretype().c_str());
        return 0;
    }
    if (opt.data.empty())
        opt.data = default_data_dir();

    // Every line reaches a pipe or a file as it is printed, and a run that is stopped keeps them.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    try {
        // Output files are checked before hours of training, not after.
        for (const std::string* out : {&opt.history, &opt.predictions, &opt.save})
            if (!out->empty())
                mininn::check_output_path(*out);
        return opt.dtype == "double" ? run<double>(opt) : run<float>(opt);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "mnist: error: %s\n", e.what());
        return 1;
    }
}
