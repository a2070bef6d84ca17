// ONNX Runtime side of bench/compare: a line-oriented JSON worker so that
// compare.py can interleave ORT runs with mnet and PyTorch in one window.
//   {"cmd":"load","key":K,"path":ONNX,"threads":T,"dims":[...],"input":RAWF32}
//   {"cmd":"run","key":K,"n":N}      -> {"ok":true,"ms":[...]}
//   {"cmd":"output","key":K}         -> {"ok":true,"outputs":[{"dims":..,"data":..}]}
//   {"cmd":"quit"}
'use strict';
const fs = require('fs');
const readline = require('readline');
const ort = require('onnxruntime-node');

const loaded = new Map();

async function load(msg) {
  const session = await ort.InferenceSession.create(msg.path, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: msg.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const raw = fs.readFileSync(msg.input);
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(values), msg.dims) };
  loaded.set(msg.key, { session, feeds });
  return {};
}

async function run(msg) {
  const { session, feeds } = loaded.get(msg.key);
  const ms = [];
  for (let i = 0; i < msg.n; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms };
}

async function output(msg) {
  const { session, feeds } = loaded.get(msg.key);
  const result = await session.run(feeds);
  return { outputs: session.outputNames.map((n) => ({ dims: result[n].dims, data: Array.from(result[n].data) })) };
}

const handlers = { load, run, output, quit: async () => process.exit(0) };

let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    let reply;
    try {
      const msg = JSON.parse(line);
      reply = Object.assign({ ok: true }, await handlers[msg.cmd](msg));
    } catch (err) {
      reply = { ok: false, error: String((err && err.stack) || err) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
});
