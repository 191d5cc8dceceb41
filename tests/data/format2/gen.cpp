// Writes files of mininn's format 2 (the architecture as JSON), the corpus every later mininn
// must still read, into a Network and as a Model.
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(2026);
    Network a{Dense<float>(4, 3, init::xavier, rng), Sigmoid{}, Dense<float>(3, 2, init::xavier, rng), Softmax{}};
    save(a, "format2_float_sigmoid.npz");
    Rng rng2(7);
    Network b{Dense<double>(3, 5, init::he, rng2), LeakyReLU<double>(0.2), Dropout<double>(0.25, 11),
              Dense<double>(5, 1, init::xavier, rng2), Identity{}};
    save(b, "format2_double_leaky_dropout.npz");
    Adam<double> opt(0.01);
    const matrix<double> X{{1, 2}, {3, 4}, {5, 6}};
    const matrix<double> Y{{0.5, -1}};
    b.compute_gradients(MeanSquaredError{}, X, Y);
    opt.step(b);
    save_checkpoint("format2_double_checkpoint.npz", b, opt);
}
