/* The inference peer in FANN 2.2 (Debian libfann-dev, float build): the seed network as
 * fann_create_standard(3, 784, 64, 10) with the weights mininn saved (OUT_DIR/seed_weights.f32,
 * written by ort_export.py), timed as ort_infer.js times onnxruntime: the median of 15 rounds,
 * each at least 20 ms of calls; a batch-1 call takes a different image each time (the 256
 * ort_infer.js cycles through), batch 32 is test images 1000-1031 (OUT_DIR/images.f32). Prints
 * key=value lines fann_b1_us, fann_b32_us and fann_max_diff against OUT_DIR/mininn_b32.f32, and
 * exits 1 if that is above 1e-5.
 *
 * FANN's activations and how they are set up here:
 * - FANN_SIGMOID is 1 / (1 + exp(-2 s x)) for steepness s, whose default is 0.5: at 0.5 it is
 *   the logistic sigmoid mininn's Sigmoid computes. The hidden layer keeps that default.
 * - FANN has no softmax. The output layer is FANN_LINEAR, which gives s x, so its steepness is
 *   set to 1, and the program applies the softmax to fann_run's 10 outputs itself, inside the
 *   timed call.
 * - FANN runs one sample per fann_run, with no batch call: batch 32 is 32 calls.
 * - FANN's float build also clips each neuron's s x to +-150 / s before the activation; the
 *   seed's sums are far inside that.
 *
 * Every layer of a FANN net ends with a bias neuron whose value is always 1, and each neuron's
 * incoming connections are from every neuron of the layer before, that layer's bias neuron last.
 * The weights are set through fann_get_connection_array and fann_set_weight_array, telling a
 * bias from a weight by the source neuron's place in its layer.
 *
 *   fann_infer OUT_DIR
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <floatfann.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOLERANCE 1e-5

static float* read_floats(const char* dir, const char* name, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    float* v = malloc(n * sizeof(float));
    FILE* f = fopen(path, "rb");
    if (!v || !f || fread(v, sizeof(float), n, f) != n) {
        fprintf(stderr, "fann_infer: %s: cannot read %zu floats\n", path, n);
        exit(1);
    }
    fclose(f);
    return v;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int by_value(const void* a, const void* b)
{
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static struct fann* ann;
static const float* images;
static float probs[32 * 10]; /* the last outputs of each sample of a batch, samples as rows */

/* One image through the net, then the softmax FANN does not have, into p[0..9]. */
static void run_one(const float* x, float* p)
{
    const fann_type* z = fann_run(ann, (fann_type*)x);
    float top = z[0], sum = 0;
    for (int i = 1; i < 10; ++i)
        top = z[i] > top ? z[i] : top;
    for (int i = 0; i < 10; ++i)
        sum += p[i] = expf(z[i] - top);
    for (int i = 0; i < 10; ++i)
        p[i] /= sum;
}

static void b1(size_t c)
{
    const size_t j = c % 256 * 37 % 3000;
    run_one(images + j * 784, probs);
}

static void b32(size_t c)
{
    (void)c;
    for (size_t j = 0; j < 32; ++j)
        run_one(images + (1000 + j) * 784, probs + j * 10);
}

/* Microseconds a call of run(c) takes, c = 0, 1, ... in each round: the median of 15 rounds,
 * each at least 20 ms. */
static double per_call_us(void (*run)(size_t))
{
    size_t calls = 1;
    for (;;) {
        const double t0 = now_us();
        for (size_t c = 0; c < calls; ++c)
            run(c);
        if (now_us() - t0 > 2e4)
            break;
        calls *= 2;
    }
    double t[15];
    for (int r = 0; r < 15; ++r) {
        const double t0 = now_us();
        for (size_t c = 0; c < calls; ++c)
            run(c);
        t[r] = (now_us() - t0) / (double)calls;
    }
    qsort(t, 15, sizeof t[0], by_value);
    return t[7];
}

int main(int argc, char** argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fann_infer OUT_DIR\n");
        return 2;
    }
    const float* w = read_floats(argv[1], "seed_weights.f32", 64 * 784 + 64 + 10 * 64 + 10);
    images = read_floats(argv[1], "images.f32", 3072 * 784);
    const float* want = read_floats(argv[1], "mininn_b32.f32", 10 * 32); /* [10, 32] */

    ann = fann_create_standard(3, 784, 64, 10);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(ann, 0.5f);
    fann_set_activation_function_output(ann, FANN_LINEAR);
    fann_set_activation_steepness_output(ann, 1.0f);

    /* Neuron numbers run through the layers in order, each layer's bias neuron after its units. */
    unsigned int sizes[3], bias[3], first[3];
    fann_get_layer_array(ann, sizes);
    fann_get_bias_array(ann, bias);
    if (sizes[0] != 784 || sizes[1] != 64 || sizes[2] != 10 || bias[0] != 1 || bias[1] != 1) {
        fprintf(stderr, "fann_infer: the net is not 784-64-10 with a bias neuron per layer\n");
        return 1;
    }
    first[0] = 0;
    first[1] = sizes[0] + bias[0];
    first[2] = first[1] + sizes[1] + bias[1];
    const float* layer_W[2] = {w, w + 64 * 784 + 64}; /* [out, in], row-major */
    const float* layer_b[2] = {w + 64 * 784, w + 64 * 784 + 64 + 10 * 64};
    const unsigned int total = fann_get_total_connections(ann);
    struct fann_connection* con = malloc(total * sizeof *con);
    fann_get_connection_array(ann, con);
    for (unsigned int k = 0; k < total; ++k) {
        const unsigned int l = con[k].to_neuron >= first[2] ? 2 : 1; /* the layer the connection enters */
        const unsigned int o = con[k].to_neuron - first[l], i = con[k].from_neuron - first[l - 1];
        if (o >= sizes[l] || i > sizes[l - 1]) {
            fprintf(stderr, "fann_infer: connection %u -> %u is not between adjacent layers\n", con[k].from_neuron,
                    con[k].to_neuron);
            return 1;
        }
        con[k].weight = i == sizes[l - 1] ? layer_b[l - 1][o] : layer_W[l - 1][o * sizes[l - 1] + i];
    }
    /* fann_set_weight_array looks each connection up through the whole net: seconds, once. */
    fann_set_weight_array(ann, con, total);
    free(con);

    b32(0);
    double worst = 0;
    for (int j = 0; j < 32; ++j)
        for (int i = 0; i < 10; ++i) {
            const double d = fabs((double)probs[j * 10 + i] - want[i * 32 + j]);
            worst = d > worst ? d : worst;
        }

    const double t1 = per_call_us(b1), t32 = per_call_us(b32);
    printf("fann_b1_us=%.3f\nfann_b32_us=%.3f\nfann_max_diff=%.2e\n", t1, t32, worst);
    fann_destroy(ann);
    if (!(worst <= TOLERANCE)) {
        fprintf(stderr, "fann_infer: outputs differ from mininn's by %.2e\n", worst);
        return 1;
    }
    return 0;
}
