"""The serve example on the format-2 corpus (tests/data/format2), on a loopback port.

Concurrent requests of random rows, every answer against the predict tool's on the same rows;
the health answer; every bad request (malformed JSON, no rows, a wrong width, a non-number, a
value out of range, a body over the limit, an unknown path) answered 400, 413 or 404 with a
message, the server still serving after them; a model that cannot be read and a port in use
refused with exit 1; SIGTERM stopping it with exit 0.

    serve_test.py SERVE PREDICT TESTS_DIR
"""
import concurrent.futures
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile

TIMEOUT = 10  # seconds for any one request or process step


def fail(message):
    print(f"FAIL: {message[:400]}")
    sys.exit(1)


class Server:
    def __init__(self, exe, model, *args):
        self.proc = subprocess.Popen([exe, model, "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # "serve: listening on http://127.0.0.1:PORT ..."
        if "listening on http://127.0.0.1:" not in line:
            self.proc.kill()
            fail(f"serve did not start: {line!r} {self.proc.stderr.read()!r}")
        self.port = int(line.split("127.0.0.1:")[1].split()[0])

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            conn.close()

    def predict(self, rows):
        return self.request("POST", "/predict", json.dumps({"rows": rows}))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("serve did not stop within 10 s of SIGTERM")
        if code != 0:
            fail(f"serve exited {code} on SIGTERM: {self.proc.stderr.read()}")


def reference(predict, model, rows, work, proba):
    """predict's answer for rows: classes, or with proba each row's outputs."""
    path = os.path.join(work, "rows.csv")
    with open(path, "w") as f:
        f.writelines(",".join(repr(v) for v in row) + "\n" for row in rows)
    out = subprocess.run([predict, model, path] + (["--proba"] if proba else []), capture_output=True,
                         text=True, timeout=TIMEOUT)
    if out.returncode != 0:
        fail(f"predict: {out.stderr}")
    lines = out.stdout.split()
    return [[float(v) for v in line.split(",")] for line in lines] if proba else [int(v) for v in lines]


def close(a, b, tol):
    return all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, b)) and len(a) == len(b)


def check_load(server, predict, model, width, work, key, classes):
    """8 client threads, 240 requests of 1 to 80 rows; each answer against predict on the same rows."""
    rng = random.Random(7)
    batches = [[[round(rng.uniform(-3, 3), 4) for _ in range(width)] for _ in range(rng.randint(1, 80))]
               for _ in range(240)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(server.predict, batches))
    rows = [row for batch in batches for row in batch]
    want = reference(predict, model, rows, work, True)
    want_class = reference(predict, model, rows, work, False) if classes else None
    at = 0
    for b, (status, got) in enumerate(answers):
        if status != 200:
            fail(f"request {b}: {status} {got}")
        if len(got[key]) != len(batches[b]):
            fail(f"request {b}: {len(got[key])} answers for {len(batches[b])} rows")
        for j, out in enumerate(got[key]):
            if not close(out, want[at + j], 1e-5):
                fail(f"request {b}, row {j}: {out} but predict says {want[at + j]}")
            if classes:
                top = sorted(want[at + j], reverse=True)
                tie = len(top) > 1 and top[0] - top[1] < 1e-5
                if not tie and got["predictions"][j] != want_class[at + j]:
                    fail(f"request {b}, row {j}: class {got['predictions'][j]}, predict says {want_class[at + j]}")
        if not classes and "predictions" in got:
            fail(f"request {b}: a regression answered predictions")
        at += len(batches[b])
    return len(rows)


def expect(server, method, path, body, status, words):
    got_status, got = server.request(method, path, body)
    if got_status != status or not isinstance(got, dict) or words not in got.get("error", ""):
        fail(f"{method} {path} {body[:60] if body else ''!r}: want {status} with '{words}', got {got_status} {got}")


def main(serve, predict, tests, with_onnx=""):
    corpus = os.path.join(tests, "data", "format2")
    cls = os.path.join(corpus, "format2_float_sigmoid.npz")       # Dense 4-3 sigmoid, Dense 3-2 softmax
    reg = os.path.join(corpus, "format2_double_leaky_dropout.npz")  # 3 inputs, 1 output, a regression
    with tempfile.TemporaryDirectory() as work:
        server = Server(serve, cls, "--max-body", "65536", "--threads", "4")
        status, health = server.request("GET", "/health")
        if status != 200 or health["inputs"] != 4 or health["outputs"] != 2 or not health["classes"] \
                or not health["probabilities"] or health["scalar"] != "float32" or len(health["layers"]) != 3:
            fail(f"health: {status} {health}")
        n = check_load(server, predict, cls, 4, work, "probabilities", True)

        expect(server, "POST", "/predict", '{"rows": [[1, 2', 400, "not valid JSON")
        expect(server, "POST", "/predict", '{"samples": [[1, 2, 3, 4]]}', 400, '"rows"')
        expect(server, "POST", "/predict", '{"rows": []}', 400, "non-empty array")
        expect(server, "POST", "/predict", '{"rows": [1, 2, 3, 4]}', 400, "row 0: expected an array of 4 numbers")
        expect(server, "POST", "/predict", '{"rows": [[1, 2, 3, 4], [1, 2, 3]]}', 400,
               "row 1: 3 values, but the model takes 4")
        expect(server, "POST", "/predict", '{"rows": [[1, 2, 3, 4, 5]]}', 400, "row 0: 5 values, but the model takes 4")
        expect(server, "POST", "/predict", '{"rows": [[1, 2, "3", 4]]}', 400, "row 0, column 2: expected a number, got string")
        expect(server, "POST", "/predict", '{"rows": [[1, true, 3, 4]]}', 400, "column 1: expected a number, got boolean")
        expect(server, "POST", "/predict", '{"rows": [[1, 2, 3, 1e39]]}', 400, "column 3: 1e+39 is out of range for float32")
        big = json.dumps({"rows": [[0.123456] * 4] * 4000})  # about 70 KB
        expect(server, "POST", "/predict", big, 413, "larger than the 65536 bytes")
        expect(server, "GET", "/nothing", None, 404, "no such endpoint")
        status, got = server.predict([[1, 0, 0.5, 2]])  # still serving
        if status != 200 or len(got["predictions"]) != 1:
            fail(f"after the bad requests: {status} {got}")
        server.stop()

        server = Server(serve, reg)
        m = check_load(server, predict, reg, 3, work, "outputs", False)
        server.stop()

        onnx = ""
        if with_onnx == "onnx":  # a build with mininn::onnx: a PyTorch export against PyTorch's outputs
            with open(os.path.join(tests, "data", "onnx", "torch_outputs.json")) as f:
                torch = json.load(f)["tanh_sigmoid"]
            width, outputs = torch["x_shape"][1], torch["y_shape"][1]
            rows = [torch["x"][i * width:(i + 1) * width] for i in range(torch["x_shape"][0])]
            server = Server(serve, os.path.join(tests, "data", "onnx", "torch_tanh_sigmoid_op17.onnx"))
            status, got = server.predict(rows)
            server.stop()
            values = got.get("probabilities") or got.get("outputs") or []
            if status != 200 or not all(close(values[i], torch["y"][i * outputs:(i + 1) * outputs], 1e-5)
                                        for i in range(len(rows))) or len(values) != len(rows):
                fail(f"the ONNX model: {status} {got}")
            onnx = "; a PyTorch ONNX export gives PyTorch's outputs"

        bad = os.path.join(work, "bad.npz")
        with open(bad, "wb") as f:
            f.write(b"PK\x03\x04 not a zip")
        out = subprocess.run([serve, bad, "--port", "0"], capture_output=True, text=True, timeout=TIMEOUT)
        if out.returncode != 1 or not out.stderr.startswith("serve: ") or "bad.npz" not in out.stderr:
            fail(f"a corrupt model: exit {out.returncode}, {out.stderr!r}")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            out = subprocess.run([serve, cls, "--port", str(port)], capture_output=True, text=True, timeout=TIMEOUT)
            if out.returncode != 1 or f"cannot listen on 127.0.0.1:{port}" not in out.stderr:
                fail(f"a port in use: exit {out.returncode}, {out.stderr!r}")
    print(f"serve: {n} classifier rows and {m} regression rows in 480 concurrent requests agree with predict; "
          f"11 bad requests answered; bad model and port in use refused{onnx}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
