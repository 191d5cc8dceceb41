// Writes files in the format of mininn before the architecture became structured (format 1).
#include <mininn/mininn.hpp>
using namespace mininn;
int main()
{
    Rng rng(2026);
    Network a{Dense<float>(4, 3, init::xavier, rng), Sigmoid{}, Dense<float>(3, 2, init::xavier, rng), Softmax{}};
    save(a, "format1_float_sigmoid.npz");
    Rng rng2(7);
    Network b{Dense<double>(3, 5, init::he, rng2), LeakyReLU<double>(0.2), Dropout<double>(0.25, 11),
              Dense<double>(5, 1, init::xavier, rng2), Identity{}};
    save(b, "format1_double_leaky_dropout.npz");
    Adam<double> opt(0.01);
    const matrix<double> X{{1, 2}, {3, 4}, {5, 6}};
    const matrix<double> Y{{0.5, -1}};
    b.compute_gradients(MeanSquaredError{}, X, Y);
    opt.step(b);
    save_checkpoint("format1_double_checkpoint.npz", b, opt);
}
