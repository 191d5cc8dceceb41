// onnxruntime 1.30 (npm onnxruntime-node) on the LeNet mininn_lenet_bench --infer-dir trained
// and to_onnx exported (DIR/lenet.onnx, its input [n, 1, 28, 28]), as ort_infer.js times the
// seed network: one intra-op thread, every graph optimization, the median of 15 rounds. Prints
// ort_lenet_b1_us (a different test image each call, the same 256 as mininn's), ort_lenet_b32_us
// (test images 1000-1031), ort_call_overhead_us (DIR/add0.onnx, which adds 0 to one number: what
// a call through node costs by itself) and ort_lenet_max_diff, its largest difference from
// mininn's outputs for that batch (DIR/lenet_b32.f32); exits 1 above 1e-5.
//
//     node ort_lenet.js DIR
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');
const {perCall} = require('./ort_time.js');

function floats(file)
{
    const b = fs.readFileSync(file);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

(async () => {
    const dir = process.argv[2];
    const opts =
        {intraOpNumThreads : 1, interOpNumThreads : 1, graphOptimizationLevel : 'all', executionMode : 'sequential'};
    const lenet = await ort.InferenceSession.create(path.join(dir, 'lenet.onnx'), opts);
    const images = floats(path.join(dir, 'lenet_images.f32'));
    const one = [];
    for (let j = 0; j < 256; ++j)
        one.push(new ort.Tensor('float32', images.slice((j * 37 % 3000) * 784, (j * 37 % 3000 + 1) * 784),
                                [ 1, 1, 28, 28 ]));
    const b32 = new ort.Tensor('float32', images.slice(1000 * 784, 1032 * 784), [ 32, 1, 28, 28 ]);
    const b1 = await perCall((c) => lenet.run({x : one[c % 256]}));
    const t32 = await perCall(() => lenet.run({x : b32}));
    const add0 = await ort.InferenceSession.create(path.join(dir, 'add0.onnx'), opts);
    const x0 = new ort.Tensor('float32', new Float32Array([ 1 ]), [ 1 ]);
    const over = await perCall(() => add0.run({x : x0}));
    const got = (await lenet.run({x : b32})).y.data, want = floats(path.join(dir, 'lenet_b32.f32'));
    let worst = got.length === want.length ? 0 : Infinity;
    for (let i = 0; i < got.length && i < want.length; ++i)
        worst = Math.max(worst, Math.abs(got[i] - want[i]));
    console.log(`ort_lenet_b1_us=${b1.toFixed(3)}\nort_lenet_b32_us=${t32.toFixed(3)}\nort_call_overhead_us=${
        over.toFixed(3)}\nort_lenet_max_diff=${worst.toExponential(2)}`);
    if (!(worst <= 1e-5)) {
        console.error('ort_lenet.js: onnxruntime and mininn differ by more than 1e-5');
        process.exit(1);
    }
})().catch((e) => {
    console.error(`ort_lenet.js: ${e.message}`);
    process.exit(1);
});
