// The mnist example's training run for float with a Sigmoid hidden layer followed by Dropout.
#include "train.hpp"

template int example::train<float, mininn::Sigmoid, true>(const example::Options&, mininn::MnistData<float>&);
