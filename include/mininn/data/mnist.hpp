// mininn: loading the MNIST data set from its four official IDX files.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdio>
#include <string>

#include "../core/errors.hpp"
#include "idx.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// MNIST with samples as columns: images [784, n] scaled to [0, 1], labels [n] in [0, 10).
template <class T>
struct MnistData {
    matrix<T> train_images;
    label_vector train_labels;
    matrix<T> test_images;
    label_vector test_labels;
};

/// The path of an MNIST file in dir: "<base>" or "<base>.gz" (also the "train-images.idx3-ubyte"
/// spelling some mirrors use). Throws io_error listing what was looked for when none exists.
inline std::string find_mnist_file(const std::string& dir, const std::string& base)
{
    std::string dotted = base;
    const auto dash = dotted.find("-idx");
    if (dash != std::string::npos)
        dotted[dash] = '.';
    for (const std::string& name : {base, base + ".gz", dotted, dotted + ".gz"}) {
        const std::string path = dir + "/" + name;
        if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
            std::fclose(f);
            return path;
        }
    }
    throw io_error(detail::cat(dir, ": no ", base, " or ", base, ".gz (examples/mnist/get-mnist.sh downloads them)"));
}

/// The number of samples (the first dimension) an IDX file declares, from its header alone.
/// Throws io_error as read_idx does for a bad header.
inline std::size_t idx_sample_count(const std::string& path)
{
    detail::gz_reader in(path);
    return detail::read_idx_header(in, std::size_t(1) << 31).shape[0];
}

/// Reads the four MNIST files from dir, raw or gzipped: of the training set only the samples
/// of train (all by default; a distributed run reads each rank's shard), and the test set
/// unless with_test is false (then test_images is [784, 0]). Throws io_error naming the file
/// for a missing, corrupt or truncated file, a label outside [0, 10), images and labels of
/// different counts, training and test images of different sizes, or a range outside the
/// training set.
template <class T>
MnistData<T> load_mnist(const std::string& dir, SampleRange train = {}, bool with_test = true)
{
    MnistData<T> d;
    const auto load = [&](const char* images, const char* labels, SampleRange range, matrix<T>& X, label_vector& y) {
        const std::string ipath = find_mnist_file(dir, images), lpath = find_mnist_file(dir, labels);
        if (range.first != 0 || range.count != SampleRange::all) { // the shards would agree while the files do not
            const std::size_t ni = idx_sample_count(ipath), nl = idx_sample_count(lpath);
            if (ni != nl)
                throw io_error(detail::cat(ipath, " has ", ni, " images but ", lpath, " has ", nl, " labels"));
        }
        X = read_idx_images<T>(ipath, range);
        y = read_idx_labels(lpath, range, 10);
        if (X.shape()[1] != y.shape()[0])
            throw io_error(detail::cat(ipath, " has ", X.shape()[1], " images but ", lpath, " has ", y.shape()[0],
                                       " labels"));
    };
    load("train-images-idx3-ubyte", "train-labels-idx1-ubyte", train, d.train_images, d.train_labels);
    if (with_test) {
        load("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", SampleRange{}, d.test_images, d.test_labels);
        if (d.train_images.shape()[0] != d.test_images.shape()[0])
            throw io_error(detail::cat(dir, ": training images have ", d.train_images.shape()[0],
                                       " pixels, test images ", d.test_images.shape()[0]));
    } else {
        d.test_images = matrix<T>(typename matrix<T>::shape_type{d.train_images.shape()[0], 0});
        d.test_labels = label_vector(label_vector::shape_type{0});
    }
    return d;
}

} // namespace MININN_ISA
} // namespace mininn
