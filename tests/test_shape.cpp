// Shape: one sample's shape along the chain (features, or channels × height × width), with a
// layer of images written from the concept (2 × 2 average pooling) to carry it.
#include <string>

#include "helpers.hpp"

using namespace mininn;

namespace {

// 2 × 2 average pooling of a c × h × w image (h, w even), each column laid out CHW.
struct Pool2 {
    using value_type = double;
    Pool2(std::size_t c, std::size_t h, std::size_t w) : in(c, h, w) {}
    std::string name() const { return "Pool2 " + in.str(); }
    Shape input_shape() const { return in; }
    Shape output_shape(const Shape&) const { return Shape(in.channels, in.height / 2, in.width / 2); }
    std::size_t input_rows() const { return in.size(); }
    std::size_t output_rows(std::size_t) const { return in.size() / 4; }
    template <class E>
    const matrix<double>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, input_rows(), index, *this);
        const std::size_t n = x.shape()[1], h = in.height / 2, w = in.width / 2;
        y = xt::zeros<double>({output_rows(0), n});
        for (std::size_t c = 0; c < in.channels; ++c)
            for (std::size_t i = 0; i < 2 * h; ++i)
                for (std::size_t j = 0; j < 2 * w; ++j)
                    for (std::size_t s = 0; s < n; ++s) // y = mean of each 2 × 2 block
                        y((c * h + i / 2) * w + j / 2, s) += 0.25 * x((c * in.height + i) * in.width + j, s);
        return y;
    }
    matrix<double>& backward(const matrix<double>& dy, bool = true, std::size_t = standalone)
    {
        const std::size_t n = dy.shape()[1], h = in.height / 2, w = in.width / 2;
        dx = xt::zeros<double>({in.size(), n});
        for (std::size_t c = 0; c < in.channels; ++c)
            for (std::size_t i = 0; i < 2 * h; ++i)
                for (std::size_t j = 0; j < 2 * w; ++j)
                    for (std::size_t s = 0; s < n; ++s) // dL/dx = dy / 4 over its block
                        dx((c * in.height + i) * in.width + j, s) = 0.25 * dy((c * h + i / 2) * w + j / 2, s);
        return dx;
    }
    std::size_t parameter_count() const { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }
    Shape in;
    matrix<double> y, dx;
};

} // namespace

TEST_CASE("a Shape is a feature count or an image, printed as the shape errors print it")
{
    const Shape f(784), img(1, 28, 28), any;
    CHECK(f.size() == 784);
    CHECK_FALSE(f.is_image());
    CHECK(f.str() == "784");
    CHECK(img.size() == 784);
    CHECK(img.is_image());
    CHECK(img.str() == "1×28×28");
    CHECK_FALSE(any.known());
    CHECK(img != Shape(28, 28, 1));
    CHECK(detail::batch_str(img) == "[1×28×28 = 784, n]");
    CHECK(detail::batch_str(f) == "[784, n]");
    // a plain column of the right size is taken as the image; two images must agree
    CHECK(detail::shape_fits(img, f));
    CHECK(detail::shape_fits(f, img));
    CHECK_FALSE(detail::shape_fits(img, Shape(28, 28, 1)));
    CHECK_FALSE(detail::shape_fits(f, Shape(783)));
    CHECK(detail::shape_fits(any, f));
    CHECK(detail::shape_fits(img, any));
}

TEST_CASE("shapes flow along the chain: images through pooling, then features, with the errors naming both")
{
    Rng rng(1);
    const LayerReport r = check_layer(Pool2(2, 4, 6), test::random_matrix<double>(48, 3, rng));
    CHECK_MESSAGE(r.passed(), r.str());

    Network net{Pool2(1, 4, 4), Pool2(1, 2, 2), Dense<double>(1, 2, init::xavier, rng)};
    CHECK(net.output_shape() == Shape(2));
    Network images{Pool2(2, 8, 4), Pool2(2, 4, 2)};
    CHECK(images.output_shape() == Shape(2, 2, 1));
    CHECK(images.output_shape().str() == "2×2×1");
    const auto X = test::random_matrix<double>(64, 5, rng);
    CHECK(images.forward(X).shape()[0] == 4);

    CHECK_THROWS_WITH_AS((Network{Pool2(1, 4, 4), Dense<double>(8, 2, init::xavier, rng)}),
                         "layer 1 (Dense 8→2): expected input [8, n] (samples are columns), but layer 0 (Pool2 "
                         "1×4×4) outputs [1×2×2 = 4, n]",
                         shape_error);
    // the same number of rows, another image
    CHECK_THROWS_WITH_AS((Network{Pool2(1, 4, 4), Pool2(1, 4, 1)}),
                         "layer 1 (Pool2 1×4×1): expected input [1×4×1 = 4, n] (samples are columns), but layer 0 "
                         "(Pool2 1×4×4) outputs [1×2×2 = 4, n]",
                         shape_error);
    // features of the right size feed an image layer (a data set's pixels, a Dense layer's output)
    Network from_dense{Dense<double>(3, 16, init::xavier, rng), Sigmoid{}, Pool2(1, 4, 4)};
    CHECK(from_dense.output_shape() == Shape(1, 2, 2));
    CHECK(from_dense.output_shape(Shape(3)) == Shape(1, 2, 2));
}
