// The mnist example's training run for float with a Tanh hidden layer.
#include "train.hpp"

template int example::train<float, mininn::Tanh, false>(const example::Options&, mininn::MnistData<float>&);
