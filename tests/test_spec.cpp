// LayerSpec: every layer described as data, a layer's own spec and state, the JSON reader and
// the architecture saved files carry (its parsing and the checks loading makes).
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "helpers.hpp"

using namespace mininn;
namespace fs = std::filesystem;

namespace {

using test::Centre;

// The same layer with a spec that forgets the state tensor.
struct CentreMissingState : Centre {
    using Centre::Centre;
    LayerSpec spec() const { return {"Centre", {}, {{"s", true, false}}}; }
};

// The same layer with its state named differently.
struct CentreAveraged : Centre {
    using Centre::Centre;
    LayerSpec spec() const
    {
        return {"Centre", {{"momentum", momentum}}, {{"s", true, false}, {"average", false, false}}};
    }
    template <class F>
    void visit_state(F&& f)
    {
        f("average", m);
    }
};

// A layer without spec(): its name is the op, every parameter is trained and decays.
struct Scale {
    using value_type = double;
    std::string name() const { return "Scale 2"; }
    std::size_t input_rows() const { return 2; }
    std::size_t output_rows(std::size_t) const { return 2; }
    template <class E>
    const matrix<double>& forward(E&& x, std::size_t = standalone)
    {
        y = x * xt::view(b, xt::all(), xt::newaxis());
        return y;
    }
    matrix<double>& backward(const matrix<double>& dy, bool = true, std::size_t = standalone)
    {
        db = xt::zeros<double>({2});
        dx = dy;
        return dx;
    }
    std::size_t parameter_count() const { return 2; }
    template <class F>
    void visit_parameters(F&& f)
    {
        f("b", b, db);
    }
    vector<double> b = xt::ones<double>({2}), db = xt::zeros<double>({2});
    matrix<double> y, dx;
};

std::string temp_path(const std::string& name)
{
    return (fs::temp_directory_path() / ("mininn_spec_" + std::to_string(::getpid()) + "_" + name)).string();
}

} // namespace

TEST_CASE("every layer describes itself: op, exact attributes, tensors with their roles")
{
    Rng rng(1);
    const LayerSpec d = Dense<float>(3, 4, init::xavier, rng).spec();
    CHECK(d.op == "Dense");
    CHECK(d.attribute("in") == 3);
    CHECK(d.attribute("out") == 4);
    REQUIRE(d.tensors.size() == 2);
    CHECK(d.tensors[0] == TensorSpec{"W", true, true});
    CHECK(d.tensors[1] == TensorSpec{"b", true, false});
    CHECK(d.str() == "Dense(in=3, out=4)");
    CHECK_THROWS_WITH_AS(d.attribute("stride"), "Dense has no attribute 'stride'", std::out_of_range);

    const LayerSpec leaky = LeakyReLU<double>(0.1).spec();
    CHECK(leaky.op == "LeakyReLU");
    CHECK(leaky.attribute("alpha") == 0.1);
    CHECK(leaky.str() == "LeakyReLU(alpha=0.1)");
    CHECK(LeakyReLU<double>(0.1 + 1e-12).spec().str() == "LeakyReLU(alpha=0.10000000000100001)");
    CHECK(ReLU<float>{}.spec() == LayerSpec{"ReLU", {}, {}});
    CHECK(Sigmoid<float>{}.spec().str() == "Sigmoid");
    CHECK(Tanh<float>{}.spec().op == "Tanh");
    CHECK(Identity<float>{}.spec().op == "Identity");
    CHECK(Softmax<float>{}.spec().op == "Softmax");
    const LayerSpec drop = Dropout<float>(0.3).spec();
    CHECK(drop.op == "Dropout");
    CHECK(drop.attribute("rate") == 0.3);
    CHECK(drop.tensors.empty());

    // without spec(): name() as the op, the parameters trained and decayed (role "b" included)
    const LayerSpec own = detail::spec_of(Scale{});
    CHECK(own.op == "Scale 2");
    CHECK(own.attributes.empty());
    REQUIRE(own.tensors.size() == 1);
    CHECK(own.tensors[0] == TensorSpec{"b", true, true});

    Network net{Dense<double>(2, 3, init::xavier, rng), LeakyReLU<double>(0.2), Centre(3)};
    const auto specs = net.specs();
    REQUIRE(specs.size() == 3);
    CHECK(specs[1].str() == "LeakyReLU(alpha=0.2)");
    CHECK(specs[2].tensors[1] == TensorSpec{"mean", false, false});
    std::string seen;
    net.visit_tensors([&](std::size_t layer, const TensorSpec& t, auto& p) {
        seen += detail::cat(layer, ".", t.name, t.trained ? "" : "(state)", ":", p.size(), " ");
    });
    CHECK(seen == "0.W:6 0.b:3 2.s:3 2.mean(state):3 ");
    CHECK(net.summary() == "layer 0: Dense 2→3 (9 parameters: W, b)\nlayer 1: LeakyReLU(0.2) (0 parameters)\n"
                           "layer 2: Centre (3 parameters: s; state: mean)\n");
}

TEST_CASE("a spec that does not list the tensors a layer visits is refused when the Network is built")
{
    Rng rng(2);
    CHECK_THROWS_WITH_AS((Network{Dense<double>(2, 3, init::xavier, rng), CentreMissingState(3)}),
                         "layer 1 (Centre): spec() does not list tensor 1 'mean'", std::logic_error);
    CHECK(detail::spec_mismatch(Centre(3), Centre(3).spec()).empty());
    const LayerSpec renamed{"Centre", {}, {{"shift", true, false}, {"mean", false, false}}};
    CHECK(detail::spec_mismatch(Centre(3), renamed) ==
          "spec() lists tensor 0 as 'shift' (trained), the visit gives 's' (trained)");
    const LayerSpec trained_state{"Centre", {}, {{"s", true, false}, {"mean", true, false}}};
    CHECK(detail::spec_mismatch(Centre(3), trained_state) ==
          "spec() lists tensor 1 as 'mean' (trained), the visit gives 'mean' (state)");
}

TEST_CASE("state is saved, loaded and checkpointed with the parameters, and no optimizer or decay touches it")
{
    Rng rng(3);
    Network net{Dense<double>(2, 3, init::xavier, rng), Sigmoid{}, Centre(3)};
    const auto X = test::random_matrix<double>(2, 5, rng);
    const matrix<double> Y = xt::zeros<double>({3, 5});
    net.compute_gradients(MeanSquaredError{}, X, Y); // training forward: the mean moves
    const vector<double> mean = net.layer<2>().m;
    CHECK(xt::amax(xt::abs(mean))() > 0.1);
    net.layer<2>().s = vector<double>{0.5, -1.0, 2.0};
    const vector<double> shift_before = net.layer<2>().s;

    GD<double> gd(0.5, WeightDecay{0.5});
    gd.step(net);
    CHECK(net.layer<2>().m == mean); // no optimizer step reaches state
    // s moved by its gradient alone: it does not decay, although the Dense weights do
    CHECK(xt::allclose(net.layer<2>().s, shift_before - 0.5 * net.layer<2>().ds, 0, 1e-15));

    const auto path = temp_path("state.npz");
    save(net, path);
    Rng rng2(4);
    Network other{Dense<double>(2, 3, init::xavier, rng2), Sigmoid{}, Centre(3)};
    REQUIRE(other.layer<2>().m != mean);
    load(other, path);
    CHECK(other.layer<2>().m == mean);
    CHECK(other.layer<2>().s == net.layer<2>().s);

    // a network whose state tensor is named differently is another architecture
    Network renamed{Dense<double>(2, 3, init::xavier, rng2), Sigmoid{}, CentreAveraged(3)};
    CHECK(test::message_of<io_error>([&] { load(renamed, path); }) ==
          path + ": layer 2 (Centre(momentum=0.5)) holds tensors s (not decayed), mean (state) in the file, "
                 "s (not decayed), average (state) in the network");
    Network faster{Dense<double>(2, 3, init::xavier, rng2), Sigmoid{}, Centre(3)};
    faster.layer<2>().momentum = 0.25;
    CHECK(test::message_of<io_error>([&] { load(faster, path); }) ==
          path + ": layer 2 is Centre(momentum=0.5) in the file, Centre(momentum=0.25) in the network");

    // a checkpoint's best weights hold the state too
    const auto ck = temp_path("state_ck.npz");
    FitState st;
    net.visit_tensors(
        [&](std::size_t, const TensorSpec&, auto& p) { st.best_weights.emplace_back(p.begin(), p.end()); });
    REQUIRE(st.best_weights.size() == 4);
    save_checkpoint(ck, net, gd, st);
    const FitState back = load_checkpoint(ck, other, gd);
    REQUIRE(back.best_weights.size() == 4);
    CHECK(back.best_weights[3] == std::vector<double>(mean.begin(), mean.end()));
    fs::remove(path);
    fs::remove(ck);
}

TEST_CASE("the JSON reader reads what the architecture needs and names the byte it refuses")
{
    const auto v =
        detail::json_parse(R"( {"a": [1, -2.5e3, true, false, null], "s": "q\"\\\/\n\u00e9", "o": {}} )", "t");
    REQUIRE(v.type == detail::json_value::kind::object);
    const auto& a = v.find("a")->items;
    REQUIRE(a.size() == 5);
    CHECK(a[0].number == 1);
    CHECK(a[1].number == -2500);
    CHECK(a[2].boolean);
    CHECK(a[3].type == detail::json_value::kind::boolean);
    CHECK_FALSE(a[3].boolean);
    CHECK(a[4].type == detail::json_value::kind::null);
    CHECK(v.find("s")->text == "q\"\\/\n\xc3\xa9");
    CHECK(v.find("o")->members.empty());
    CHECK(v.find("missing") == nullptr);

    auto refused = [](const std::string& text) {
        return test::message_of<io_error>([&] { detail::json_parse(text, "t"); });
    };
    CHECK(refused("") == "t: expected a value at byte 0");
    CHECK(refused("{\"a\" 1}") == "t: expected ':' at byte 5");
    CHECK(refused("[1, 2") == "t: expected ',' or ']' at byte 5");
    CHECK(refused("[01]") == "t: expected a value at byte 3");
    CHECK(refused("[1.]") == "t: expected digits after '.' at byte 3");
    CHECK(refused("\"abc") == "t: unterminated string at byte 4");
    CHECK(refused("\"a\nb\"") == "t: control character in a string at byte 3");
    CHECK(refused("\"\\x\"") == "t: bad escape at byte 2");
    CHECK(refused("\"\\ud800\"") == "t: surrogate \\u escapes are not supported at byte 7");
    CHECK(refused("1e999") == "t: number out of range at byte 0");
    CHECK(refused("{} x") == "t: unexpected text after the value at byte 3");
    CHECK(refused(std::string(40, '[') + std::string(40, ']')) == "t: nesting too deep at byte 33");
    CHECK(refused("tru") == "t: expected a value at byte 0");

    // numbers are written as the shortest text that reads back exactly
    for (const double x : {0.1, 1.0 / 3, 1e-300, 5e-324, 784.0, -0.0, 0.30000000000000004}) {
        const std::string s = detail::json_number(x);
        const double back = detail::json_parse(s, "n").number;
        CHECK_MESSAGE(back == x, s);
        CHECK(std::signbit(back) == std::signbit(x));
    }
    CHECK(detail::json_number(0.1) == "0.1");
    CHECK(detail::json_number(784) == "784");
    CHECK(detail::json_quote("a\"b\\c\x01") == "\"a\\\"b\\\\c\\u0001\"");
}

TEST_CASE("the saved architecture: written, read back, and refused where it is not one mininn wrote")
{
    Rng rng(5);
    Network net{Dense<float>(3, 4, init::xavier, rng), LeakyReLU{0.3}, Dropout{0.5},
                Dense<float>(4, 2, init::xavier, rng), Softmax{}};
    const std::string text = detail::architecture(net);
    const SavedArchitecture a = detail::parse_architecture(text, "f");
    CHECK(a.version == architecture_version);
    CHECK(a.scalar == "float32");
    CHECK(a.layers == net.specs());
    CHECK(a.layers[1].attribute("alpha") == 0.3);
    CHECK(a.layers[2].attribute("rate") == 0.5);

    const SavedArchitecture v1 = detail::parse_architecture("Dense 3→4; Sigmoid; float64", "f");
    CHECK(v1.version == 1);
    CHECK(v1.scalar == "float64");
    CHECK(v1.layers.empty());

    auto refused = [](const std::string& t) {
        return test::message_of<io_error>([&] { detail::parse_architecture(t, "f"); });
    };
    CHECK(refused("Dense 3→4; Sigmoid") == "f: the architecture is neither JSON nor mininn's earlier text");
    CHECK(refused("[1]") == "f: the architecture is neither JSON nor mininn's earlier text");
    CHECK(refused("{\"format\": 1") == "f: architecture: expected ',' or '}' at byte 12");
    CHECK(refused(R"({"format": "onnx", "version": 2})") == "f: architecture: format is not \"mininn\"");
    CHECK(refused(R"({"format": "mininn", "version": 3, "scalar": "float32", "layers": []})") ==
          "f: architecture: version 3 is newer than this mininn reads (2); read it with a newer mininn");
    CHECK(refused(R"({"format": "mininn", "version": 2.5})") == "f: architecture: version 2.5 is not one mininn wrote");
    CHECK(refused(R"({"format": "mininn", "version": "2"})") == "f: architecture needs 'version' as a number");
    CHECK(refused(R"({"format": "mininn", "version": 2, "scalar": "int8", "layers": []})") ==
          "f: architecture: scalar 'int8' is neither float32 nor float64");
    CHECK(refused(R"({"format": "mininn", "version": 2, "scalar": "float32", "layers": [{"op": "Dense"}]})") ==
          "f: architecture: layer 0 needs 'attributes' as an object");
    CHECK(refused(R"({"format": "mininn", "version": 2, "scalar": "float32", "layers": [{"op": "Dense",
          "attributes": {"in": "3"}, "tensors": []}]})") == "f: architecture: layer 0: attribute 'in' is not a number");
    CHECK(refused(R"({"format": "mininn", "version": 2, "scalar": "float32", "layers": [{"op": "Dense",
          "attributes": {}, "tensors": [{"name": "W", "trained": 1, "decayed": true}]}]})") ==
          "f: architecture: layer 0: tensor 0 needs 'trained' as a boolean");

    // an attribute JSON cannot hold is refused when saving, before anything is written
    Network bad{Dense<double>(2, 2, init::xavier, rng), Centre(2)};
    bad.layer<1>().momentum = std::numeric_limits<double>::quiet_NaN();
    const auto path = temp_path("nan.npz");
    CHECK_THROWS_WITH_AS(save(bad, path),
                         "layer 1 (Centre): attribute 'momentum' is nan; a saved architecture holds "
                         "finite numbers only",
                         std::invalid_argument);
    CHECK_FALSE(fs::exists(path));
}
