// The mnist example's training run for float with a ReLU hidden layer followed by Dropout.
#include "train.hpp"

template int example::train<float, mininn::ReLU, true>(const example::Options&, mininn::MnistData<float>&);
