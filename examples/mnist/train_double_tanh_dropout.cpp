// The mnist example's training run for double with a Tanh hidden layer followed by Dropout.
#include "train.hpp"

template int example::train<double, mininn::Tanh, true>(const example::Options&, mininn::MnistData<double>&);
