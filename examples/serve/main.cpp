// serve: a saved mininn model (or an .onnx graph, in a build with mininn::onnx) behind HTTP,
// one shared const Model for every connection.
//
//   serve MODEL [--host 127.0.0.1] [--port 8080] [--threads N] [--max-body BYTES]
//
//   GET  /health   200 {"status": "ok", "scalar", "inputs", "outputs", "classes", "probabilities",
//                       "layers": [one line per operation]}
//   POST /predict  {"rows": [[x11, x12, ...], [x21, ...], ...]}, one sample a row (as in CSV)
//                  200 {"predictions": [class, ...]   when the model has classes to give
//                       "probabilities" or "outputs": [[row of outputs], ...]}
//                  400 {"error": "..."} for malformed JSON, a missing "rows", a row of the wrong
//                       width, a value that is not a number or out of the model's range
//                  413 {"error": "..."} for a body above --max-body
//
// It listens on 127.0.0.1 unless told otherwise (--host 0.0.0.0 opens it to the network), and
// prints one line "serve: listening on http://HOST:PORT" when it is ready; --port 0 picks a
// free port. SIGINT or SIGTERM stops it after the requests in flight. Each of the --threads
// workers runs the model with its own workspace (Model::infer uses the calling thread's).
#include <algorithm>
#include <cmath>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <mininn/mininn.hpp>
#include <nlohmann/json.hpp>

#include "../common/model_file.hpp"

using json = nlohmann::json;
using mininn::detail::cat;

namespace {

struct Options {
    std::string model, host = "127.0.0.1";
    int port = 8080;
    std::size_t threads = 0, max_body = 4u << 20;
};

int stop_pipe[2] = {-1, -1};

extern "C" void on_signal(int)
{
    const char c = 0;
    const ssize_t written = write(stop_pipe[1], &c, 1);
    (void)written; // the pipe is never full: one byte a signal, and one is enough
}

void answer_error(httplib::Response& res, int status, const std::string& message)
{
    res.status = status;
    res.set_content(json{{"error", message}}.dump(), "application/json");
}

// The "rows" of a request body as X [inputs, n], samples as columns. Throws std::invalid_argument naming
// the first thing that is wrong.
template <class T>
mininn::matrix<T> parse_rows(const std::string& body, std::size_t width)
{
    const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
        throw std::invalid_argument("the body is not valid JSON");
    if (!doc.is_object() || !doc.contains("rows"))
        throw std::invalid_argument(R"(expected an object {"rows": [[...], ...]})");
    const json& rows = doc["rows"];
    if (!rows.is_array() || rows.empty())
        throw std::invalid_argument(R"("rows" must be a non-empty array of rows)");
    mininn::matrix<T> X({width, rows.size()});
    for (std::size_t j = 0; j < rows.size(); ++j) {
        const json& row = rows[j];
        if (!row.is_array())
            throw std::invalid_argument(
                cat("row ", j, ": expected an array of ", width, " numbers, got ", row.type_name()));
        if (row.size() != width)
            throw std::invalid_argument(cat("row ", j, ": ", row.size(), " values, but the model takes ", width));
        for (std::size_t i = 0; i < width; ++i) {
            const json& v = row[i];
            if (!v.is_number())
                throw std::invalid_argument(cat("row ", j, ", column ", i, ": expected a number, got ", v.type_name()));
            const double d = v.get<double>();
            if (!(std::abs(d) <= static_cast<double>(std::numeric_limits<T>::max())))
                throw std::invalid_argument(cat("row ", j, ", column ", i, ": ", v.dump(), " is out of range for ",
                                                mininn::detail::scalar_name<T>()));
            X(i, j) = static_cast<T>(d);
        }
    }
    return X;
}

template <class T>
int serve(const Options& o)
{
    const mininn::Model<T> model = examples::load_model_file<T>(o.model);
    const std::size_t width = model.input_features();
    const char* values_key = model.outputs_probabilities() ? "probabilities" : "outputs";

    json health{{"status", "ok"},
                {"scalar", mininn::detail::scalar_name<T>()},
                {"inputs", width},
                {"outputs", model.output_features()},
                {"classes", model.predicts_classes()},
                {"probabilities", model.outputs_probabilities()},
                {"layers", json::array()}};
    std::string line;
    for (std::istringstream in(model.summary()); std::getline(in, line);)
        health["layers"].push_back(line);
    const std::string health_text = health.dump();

    httplib::Server server;
    const std::size_t threads = o.threads ? o.threads : std::max(2u, std::thread::hardware_concurrency());
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_payload_max_length(o.max_body);
    server.set_error_handler([&o](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) // a handler's own answer
            return;
        if (res.status == 413)
            answer_error(res, 413, cat("the body is larger than the ", o.max_body, " bytes this server takes"));
        else if (res.status == 404)
            answer_error(res, 404, "no such endpoint: GET /health or POST /predict");
        else
            answer_error(res, res.status, cat("HTTP status ", res.status));
    });
    server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(health_text, "application/json");
    });
    server.Post("/predict", [&](const httplib::Request& req, httplib::Response& res) {
        try {
            const mininn::matrix<T> X = parse_rows<T>(req.body, width);
            const mininn::matrix<T> Y = model.infer(X);
            const std::size_t k = Y.shape()[0], n = Y.shape()[1];
            json out = json::object();
            if (model.predicts_classes()) {
                json classes = json::array();
                for (const std::size_t c : mininn::detail::classes_of(Y, true, "serve: the model"))
                    classes.push_back(c);
                out["predictions"] = std::move(classes);
            }
            json values = json::array();
            for (std::size_t j = 0; j < n; ++j) {
                json row = json::array();
                for (std::size_t i = 0; i < k; ++i)
                    row.push_back(Y(i, j));
                values.push_back(std::move(row));
            }
            out[values_key] = std::move(values);
            res.set_content(out.dump(), "application/json");
        } catch (const std::exception& e) { // the body or the model refused it: say so, keep serving
            answer_error(res, 400, e.what());
        }
    });

    const int port = o.port == 0 ? server.bind_to_any_port(o.host) : server.bind_to_port(o.host, o.port) ? o.port : -1;
    if (port < 0)
        throw std::runtime_error(cat("cannot listen on ", o.host, ":", o.port));
    std::printf("serve: listening on http://%s:%d (%s, %zu threads)\n", o.host.c_str(), port, o.model.c_str(), threads);
    std::fflush(stdout);

    // A signal's handler only writes a byte to a pipe (what a handler may safely do, in whichever
    // thread the signal lands, OpenBLAS's included); this thread reads it and stops the server.
    std::thread stopper([&server] {
        char c = 0;
        while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
        }
        server.stop();
    });
    const bool ok = server.listen_after_bind();
    on_signal(0); // wake the stopper if no signal did
    stopper.join();
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"serve: a saved mininn model behind HTTP (GET /health, POST /predict)"};
    Options o;
    app.add_option("MODEL", o.model, "a model or checkpoint saved by mininn (.npz)")->required();
    app.add_option("--host", o.host, "the address to listen on (127.0.0.1: this machine only)");
    app.add_option("--port", o.port, "the port (0: any free port, printed)")->check(CLI::Range(0, 65535));
    app.add_option("--threads", o.threads, "worker threads (default: the cores, at least 2)");
    app.add_option("--max-body", o.max_body, "the largest request body in bytes, else 413")->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);

    try {
        if (pipe(stop_pipe) != 0)
            throw std::runtime_error("cannot create a pipe");
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        return examples::model_scalar(o.model) == "float64" ? serve<double>(o) : serve<float>(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: %s\n", e.what());
        return 1;
    }
}
