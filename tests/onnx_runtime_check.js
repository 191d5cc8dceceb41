// onnxruntime 1.30 (npm onnxruntime-node) on what tests/onnx_runtime_export.cpp wrote: each
// case's graph on its input must give mininn's outputs to 1e-5 relative (an absolute 1e-5 near
// zero) in float, 1e-12 in double; the MNIST model must predict every test image's class as
// mininn does, for the same accuracy. Prints one line a case; exits 1 on any difference.
//
//     node onnx_runtime_check.js DIR
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

function raw(file, scalar)
{
    const b = fs.readFileSync(file);
    const copy = b.buffer.slice(b.byteOffset, b.byteOffset + b.length); // aligned
    return scalar === 'float64' ? new Float64Array(copy) : new Float32Array(copy);
}

function argmax(v, j, k)
{
    let best = 0;
    for (let o = 1; o < k; ++o)
        if (v[j * k + o] > v[j * k + best])
            best = o;
    return best;
}

(async () => {
    const dir = process.argv[2];
    const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
    let failed = 0;
    for (const c of cases) {
        const session = await ort.InferenceSession.create(path.join(dir, c.name + '.onnx'));
        const x = raw(path.join(dir, c.name + '.x'), c.scalar), want = raw(path.join(dir, c.name + '.y'), c.scalar);
        const result = await session.run({x : new ort.Tensor(c.scalar, x, [ c.n, ...c.dims ])});
        const got = result.y.data;
        const tol = c.scalar === 'float64' ? 1e-12 : 1e-5;
        let worst = 0;
        if (got.length !== want.length || result.y.dims[0] !== c.n || result.y.dims[1] !== c.outputs)
            worst = Infinity;
        else
            for (let i = 0; i < got.length; ++i)
                worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
        let line = `${c.name}: ${c.n} x ${c.features} -> ${c.outputs} (${c.scalar}), largest relative difference ${
            worst.toExponential(2)}`;
        let ok = worst <= tol;
        if (c.name === 'mnist') {
            const labels = fs.readFileSync(path.join(dir, 'mnist.labels'));
            let same = 0, right = 0, rightMininn = 0;
            for (let j = 0; j < c.n; ++j) {
                const a = argmax(got, j, c.outputs), b = argmax(want, j, c.outputs);
                same += a === b;
                right += a === labels[j];
                rightMininn += b === labels[j];
            }
            line += `; the same class for ${same} of ${c.n} images, accuracy ${(right / c.n).toFixed(4)} (mininn ${
                (rightMininn / c.n).toFixed(4)})`;
            ok = ok && same === c.n;
        }
        console.log((ok ? '' : 'FAIL: ') + line);
        failed += !ok;
    }
    if (cases.length < 16) {
        console.log(`FAIL: ${cases.length} cases, expected every architecture`);
        failed += 1;
    }
    process.exit(failed ? 1 : 0);
})().catch((e) => {
    console.log(`FAIL: ${e.message}`);
    process.exit(1);
});
