// The mnist example's training run for float with a Sigmoid hidden layer.
#include "train.hpp"

template int example::train<float, mininn::Sigmoid, false>(const example::Options&, mininn::MnistData<float>&);
