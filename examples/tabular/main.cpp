// mininn tabular example: four real data sets that scikit-learn ships as CSV files, each
// trained from its file with a one-hidden-layer ReLU network and scored on held-out samples:
//   breast_cancer  binary (Sigmoid + BinaryCrossEntropy)   569 x 30
//   iris           3 classes (Softmax + CrossEntropy)      150 x 4
//   digits         10 classes (Softmax + CrossEntropy)     1797 x 64
//   diabetes       regression (MeanSquaredError)           442 x 10
// Every data set is split --splits times (seeded), standardised on its training part, and
// trained with Adam; the figures are means over the splits. --write-splits saves the splits so
// that examples/bench/peers/sklearn_tabular.py trains scikit-learn's MLP on the very same ones.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mininn/mininn.hpp>

using namespace mininn;

namespace {

struct Options {
    std::string data_dir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";
    std::vector<std::string> datasets{"breast_cancer", "iris", "digits", "diabetes"};
    std::size_t splits = 30, epochs = 200, batch = 32, hidden = 64;
    double lr = 1e-3, test_fraction = 0.25;
    std::uint64_t seed = 0;
    std::string write_splits;
};

enum class Kind { binary, classes, regression };

struct Dataset {
    std::string name;
    Kind kind;
    matrix<float> X;      // [d, n]
    label_vector labels;  // classes and binary
    matrix<float> Y;      // regression targets [1, n]
    std::size_t classes = 0;
};

Dataset load(const std::string& name, const std::string& dir)
{
    Dataset d{name, Kind::classes, {}, {}, {}, 0};
    CsvOptions o;
    o.targets = CsvTargets::class_indices;
    if (name == "diabetes") {
        CsvOptions xo;
        xo.separator = ' ';
        xo.target_columns = {};
        CsvOptions yo;
        yo.target_columns = {0};
        d.kind = Kind::regression;
        d.X = load_csv<float>(dir + "/diabetes_data_raw.csv.gz", xo).X;
        d.Y = load_csv<float>(dir + "/diabetes_target.csv.gz", yo).Y;
        if (d.Y.shape()[1] != d.X.shape()[1])
            throw io_error(detail::cat("diabetes: ", d.X.shape()[1], " samples but ", d.Y.shape()[1], " targets"));
        return d;
    }
    if (name == "breast_cancer" || name == "iris") {
        o.skip_lines = 1; // "n,d,class names..."
        auto csv = load_csv<float>(dir + "/" + name + ".csv", o);
        d.X = std::move(csv.X);
        d.labels = std::move(csv.labels);
    } else if (name == "digits") {
        auto csv = load_csv<float>(dir + "/digits.csv.gz", o);
        d.X = std::move(csv.X);
        d.labels = std::move(csv.labels);
    } else {
        throw std::invalid_argument("unknown data set " + name);
    }
    d.classes = *std::max_element(d.labels.begin(), d.labels.end()) + 1;
    d.kind = d.classes == 2 ? Kind::binary : Kind::classes;
    return d;
}

void write_split(const std::string& path, const SplitIndices& s)
{
    std::ofstream f(path);
    for (const auto* part : {&s.train, &s.test}) {
        f << (part == &s.train ? "train" : "test");
        for (std::size_t j : *part)
            f << ' ' << j;
        f << '\n';
    }
    if (!f)
        throw io_error("cannot write " + path);
}

struct Result {
    double score = 0, seconds = 0, train_loss = 0;
};

// Trains net on (X, Y) and scores it on (Xt, Yt): accuracy for classification, R^2 for regression.
template <class Net, class Loss, class Targets>
Result train_and_score(Net net, const Loss& loss, const matrix<float>& X, const Targets& Y, const matrix<float>& Xt,
                       const Targets& Yt, const Options& opt, std::uint64_t seed)
{
    Adam<float> adam(static_cast<float>(opt.lr));
    FitOptions fo;
    fo.epochs = opt.epochs;
    fo.batch_size = opt.batch;
    fo.seed = seed;
    fo.verbose = Verbosity::silent;
    const auto t0 = std::chrono::steady_clock::now();
    const History h = fit(net, loss, adam, X, Y, fo);
    Result r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.train_loss = h.epochs.back().loss;
    const Scores s = evaluate(net, loss, Xt, Yt);
    r.score = task_of<Loss> == Task::regression ? s.r2 : s.accuracy;
    return r;
}

Result run_split(const Dataset& d, const SplitIndices& split, const Options& opt, std::uint64_t seed)
{
    Standardizer<float> scale;
    const matrix<float> X = scale.fit_transform(take_columns(d.X, split.train));
    const matrix<float> Xt = scale.transform(take_columns(d.X, split.test));
    const std::size_t in = X.shape()[0], h = opt.hidden;
    Rng rng(seed);
    switch (d.kind) {
    case Kind::binary: {
        Network net{Dense<float>(in, h, init::xavier, rng), ReLU{}, Dense<float>(h, 1, init::xavier, rng), Sigmoid{}};
        return train_and_score(net, BinaryCrossEntropy{}, X, take(d.labels, split.train), Xt,
                               take(d.labels, split.test), opt, seed);
    }
    case Kind::classes: {
        Network net{Dense<float>(in, h, init::xavier, rng), ReLU{}, Dense<float>(h, d.classes, init::xavier, rng),
                    Softmax{}};
        return train_and_score(net, CrossEntropy{}, X, take(d.labels, split.train), Xt, take(d.labels, split.test),
                               opt, seed);
    }
    case Kind::regression: {
        // Targets standardised on the training part too (R^2 does not change under it).
        Standardizer<float> yscale;
        const matrix<float> Y = yscale.fit_transform(take_columns(d.Y, split.train));
        const matrix<float> Yt = yscale.transform(take_columns(d.Y, split.test));
        Network net{Dense<float>(in, h, init::xavier, rng), ReLU{}, Dense<float>(h, 1, init::xavier, rng)};
        return train_and_score(net, MeanSquaredError{}, X, Y, Xt, Yt, opt, seed);
    }
    }
    return {};
}

} // namespace

int main(int argc, char** argv)
{
    Options opt;
    CLI::App app{"mininn tabular example: scikit-learn's CSV data sets, one hidden ReLU layer, Adam"};
    app.add_option("--data-dir", opt.data_dir, "directory with scikit-learn's CSV files")->capture_default_str();
    app.add_option("--datasets", opt.datasets, "which data sets")
        ->capture_default_str()
        ->check(CLI::IsMember({"breast_cancer", "iris", "digits", "diabetes"}));
    app.add_option("--splits", opt.splits, "random train/test splits per data set")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--test-fraction", opt.test_fraction, "fraction of the samples held out")
        ->capture_default_str()->check(CLI::Range(0.01, 0.99));
    app.add_option("--epochs", opt.epochs, "epochs")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--batch", opt.batch, "mini-batch size")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--hidden", opt.hidden, "hidden ReLU units")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--lr", opt.lr, "Adam's learning rate")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--seed", opt.seed, "seed of split s is seed + s")->capture_default_str();
    app.add_option("--write-splits", opt.write_splits,
                   "write each split's train and test indices to DIR/<data set>_<split>.txt");
    CLI11_PARSE(app, argc, argv);

    try {
        const BlasInfo blas = blas_info();
        std::printf("mininn %s (%s kernels, OpenBLAS %s kernels, %d threads), %zu splits (test fraction %.2f), %zu "
                    "epochs of batch %zu, hidden %zu, Adam lr %g\n",
                    version(), detail::simd_isa(), blas.core.c_str(), blas.threads, opt.splits, opt.test_fraction,
                    opt.epochs, opt.batch, opt.hidden, opt.lr);
        const std::string advice = blas_warning();
        if (!advice.empty())
            std::fprintf(stderr, "tabular: warning: %s\n", advice.c_str());
        std::printf("%-14s %-10s %11s  %-9s %8s %8s %12s\n", "dataset", "task", "samples", "metric", "mean", "std",
                    "train_s");
        for (const auto& name : opt.datasets) {
            const Dataset d = load(name, opt.data_dir);
            const std::size_t n = d.X.shape()[1];
            double sum = 0, sum2 = 0, secs = 0;
            for (std::size_t s = 0; s < opt.splits; ++s) {
                Rng rng(opt.seed + s);
                const SplitIndices split = train_test_split(n, opt.test_fraction, rng);
                if (!opt.write_splits.empty())
                    write_split(detail::cat(opt.write_splits, "/", name, "_", s, ".txt"), split);
                const Result r = run_split(d, split, opt, opt.seed + s);
                sum += r.score;
                sum2 += r.score * r.score;
                secs += r.seconds;
            }
            const double k = static_cast<double>(opt.splits), mean = sum / k;
            const double sd = std::sqrt(std::max(0.0, sum2 / k - mean * mean));
            const char* task = d.kind == Kind::binary ? "binary" : d.kind == Kind::classes ? "classes" : "regression";
            std::printf("%-14s %-10s %5zu x %-3zu  %-9s %8.4f %8.4f %12.4f\n", name.c_str(), task, n, d.X.shape()[0],
                        d.kind == Kind::regression ? "r2" : "accuracy", mean, sd, secs / k);
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tabular: %s\n", e.what());
        return 1;
    }
    return 0;
}
