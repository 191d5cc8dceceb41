// The mnist example's training run for float with a Tanh hidden layer followed by Dropout.
#include "train.hpp"

template int example::train<float, mininn::Tanh, true>(const example::Options&, mininn::MnistData<float>&);
