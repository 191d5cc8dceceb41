// The mnist example's training run for double with a Tanh hidden layer.
#include "train.hpp"

template int example::train<double, mininn::Tanh, false>(const example::Options&, mininn::MnistData<double>&);
