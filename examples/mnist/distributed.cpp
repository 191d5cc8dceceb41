// mnist --distributed: picks the run for the scalar type and hidden activation (compiled in
// distributed_float.cpp and distributed_double.cpp; the run itself is in distributed.hpp).
#include <stdexcept>

#include <mininn/layers/activations.hpp>

#include "example.hpp"

namespace example {

template <class T, template <class> class Act>
int train_distributed(const Options& opt);

int run_distributed(const Options& opt)
{
    if (opt.dropout > 0) // its masks would depend on the number of ranks
        throw std::invalid_argument("--distributed does not take --dropout");
    const bool f = opt.dtype == "float";
    if (opt.activation == "relu")
        return f ? train_distributed<float, mininn::ReLU>(opt) : train_distributed<double, mininn::ReLU>(opt);
    if (opt.activation == "tanh")
        return f ? train_distributed<float, mininn::Tanh>(opt) : train_distributed<double, mininn::Tanh>(opt);
    return f ? train_distributed<float, mininn::Sigmoid>(opt) : train_distributed<double, mininn::Sigmoid>(opt);
}

} // namespace example
