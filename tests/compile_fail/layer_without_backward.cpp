// expect: a layer needs `matrix<T>& backward\(const matrix<T>& dOut, bool need_input_grad, std::size_t index\)`
#include <mininn/mininn.hpp>
using namespace mininn;
// A layer of one's own (the concept in mininn/layers/layer.hpp) that forgot its backward pass.
struct Doubler {
    using value_type = double;
    std::string name() const { return "Doubler"; }
    std::size_t input_rows() const { return 0; }
    std::size_t output_rows(std::size_t rows) const { return rows; }
    template <class E>
    const matrix<double>& forward(E&& x, std::size_t = standalone)
    {
        y_ = 2.0 * x;
        return y_;
    }
#ifndef MININN_COMPILE_FAIL
    matrix<double>& backward(const matrix<double>& dy, bool = true, std::size_t = standalone)
    {
        dx_ = 2.0 * dy; // d(2x)/dx = 2
        return dx_;
    }
#endif
    std::size_t parameter_count() const { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }
    matrix<double> y_, dx_;
};
int main()
{
    Rng rng(1);
    Network net{Dense<double>(2, 2, init::xavier, rng), Doubler{}};
    return net.forward(matrix<double>{{1}, {2}}).shape()[0] == 2 ? 0 : 1;
}
