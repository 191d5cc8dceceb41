// onnxruntime 1.30 (npm onnxruntime-node) on the graphs ort_export.py wrote: one intra-op
// thread, every graph optimization, the median of 15 rounds. Prints key=value lines:
// ort_b1_us (a different image each call), ort_b32_us, ort_call_overhead_us (the graph that
// adds 0 to one number), and ort_max_diff against the outputs in OUT_DIR/mininn_b32.f32 if present.
//
//     node ort_infer.js OUT_DIR
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');
const {perCall} = require('./ort_time.js');

(async () => {
    const dir = process.argv[2];
    const opts =
        {intraOpNumThreads : 1, interOpNumThreads : 1, graphOptimizationLevel : 'all', executionMode : 'sequential'};
    const seed = await ort.InferenceSession.create(path.join(dir, 'seed.onnx'), opts);
    const add0 = await ort.InferenceSession.create(path.join(dir, 'add0.onnx'), opts);
    const buf = fs.readFileSync(path.join(dir, 'images.f32'));
    const images = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    const one = [];
    for (let j = 0; j < 256; ++j)
        one.push(new ort.Tensor('float32', images.slice((j * 37 % 3000) * 784, (j * 37 % 3000 + 1) * 784), [ 1, 784 ]));
    const b32 = new ort.Tensor('float32', images.slice(1000 * 784, 1032 * 784), [ 32, 784 ]);
    const x0 = new ort.Tensor('float32', new Float32Array([ 1 ]), [ 1 ]);
    const b1 = await perCall((c) => seed.run({x : one[c % 256]}));
    const t32 = await perCall(() => seed.run({x : b32}));
    const over = await perCall(() => add0.run({x : x0}));
    console.log(`ort_b1_us=${b1.toFixed(3)}\nort_b32_us=${t32.toFixed(3)}\nort_call_overhead_us=${over.toFixed(3)}`);
    const ref = path.join(dir, 'mininn_b32.f32');
    if (fs.existsSync(ref)) {
        const r = fs.readFileSync(ref);
        const want = new Float32Array(r.buffer, r.byteOffset, r.length / 4); // [10, 32], samples as columns
        const got = (await seed.run({x : b32})).p.data;                      // [32, 10], samples as rows
        let worst = 0;
        for (let j = 0; j < 32; ++j)
            for (let i = 0; i < 10; ++i)
                worst = Math.max(worst, Math.abs(got[j * 10 + i] - want[i * 32 + j]));
        console.log(`ort_max_diff=${worst.toExponential(2)}`);
    }
})().catch((e) => {
    console.error(`ort_infer.js: ${e.message}`);
    process.exit(1);
});
