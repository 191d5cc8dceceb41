// The timing the onnxruntime peers share (ort_infer.js, ort_lenet.js): microseconds a call of
// run(c) takes, the median of 15 rounds of calls, each round at least 20 ms.
async function perCall(run)
{
    let calls = 1;
    for (;;) { // calls per round
        const t0 = process.hrtime.bigint();
        for (let c = 0; c < calls; ++c)
            await run(c);
        if (Number(process.hrtime.bigint() - t0) > 2e7)
            break;
        calls *= 2;
    }
    const t = [];
    for (let r = 0; r < 15; ++r) {
        const t0 = process.hrtime.bigint();
        for (let c = 0; c < calls; ++c)
            await run(c);
        t.push(Number(process.hrtime.bigint() - t0) / 1e3 / calls);
    }
    t.sort((a, b) => a - b);
    return t[7];
}

module.exports = {perCall};
