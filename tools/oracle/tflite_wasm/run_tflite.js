#!/usr/bin/env node
// Runs one .tflite file on a batch of raw input tensors with the TFLite
// interpreter that @tensorflow/tfjs-tflite ships compiled to WebAssembly, and
// writes every output of every run, for tools/oracle/tflite_fixtures.py.
//
//   node run_tflite.js MODEL.tflite INPUTS.bin OUT [--profile]
//
// INPUTS.bin holds N input tensors back to back (raw bytes of the model's one
// input, its dtype and shape, no header; N = file size / tensor size).
// Writes OUT.bin (for each run, every output's raw little-endian bytes in the
// model's output order) and OUT.json (runtime, input/output names, dtypes,
// shapes and byte sizes, the run count; with --profile the interpreter's
// per-operator profile of the last run, which shows which kernels ran).
//
// The runtime is TFLite as built into tfjs-tflite: its interpreter applies the
// default XNNPACK delegate to the operators XNNPACK supports (convolutions,
// pooling, adds, ... in QU8/QS8 with fp32 requantization) and there is no
// option to turn that off, so this is "TFLite with its default delegate", not
// TFLite's reference kernels. The plain (no SIMD, no threads) wasm build is
// used, with one thread. When the delegate fails to prepare (seen on some
// graphs cut in the middle), TFLite falls back to its builtin kernels;
// OUT.json's delegate_fallback then says so.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const PACKAGE = '@tensorflow/tfjs-tflite';
const WASM_BASENAME = 'tflite_web_api_cc';  // the build without SIMD and threads

function usage(message) {
  process.stderr.write((message ? message + '\n' : '') +
                       'usage: node run_tflite.js MODEL.tflite INPUTS.bin OUT [--profile]\n');
  process.exit(2);
}

function packageDir() {
  // resolve the package.json rather than the package's main file (a browser bundle)
  try {
    return path.dirname(require.resolve(PACKAGE + '/package.json', {paths: [__dirname]}));
  } catch (e) {
    usage(PACKAGE + ' is not installed: run `npm install` in ' + __dirname);
  }
}

function tensorInfo(tensor) {
  const data = tensor.data();
  return {
    name: tensor.name,
    dtype: tensor.dataType,
    shape: tensor.shape === '' ? [] : String(tensor.shape).split(',').map(Number),
    bytes: data.byteLength,
  };
}

async function main() {
  const args = process.argv.slice(2).filter((a) => a !== '--profile');
  const profile = process.argv.includes('--profile');
  if (args.length !== 3) usage();
  const [modelPath, inputsPath, outPrefix] = args;

  const pkgDir = packageDir();
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const wasmPath = path.join(pkgDir, 'wasm', WASM_BASENAME + '.wasm');
  const wasmBinary = fs.readFileSync(wasmPath);
  const factory = require(path.join(pkgDir, 'wasm', WASM_BASENAME + '.js'));
  const logLines = [];
  const wasm = await factory({
    wasmBinary,
    print: (s) => logLines.push(s),
    printErr: (s) => logLines.push(s),
  });

  const model = fs.readFileSync(modelPath);
  const modelPtr = wasm._malloc(model.length);
  wasm.HEAPU8.set(model, modelPtr);
  const created = wasm.TFLiteWebModelRunner.CreateFromBufferAndOptions(
      modelPtr, model.length,
      {numThreads: 1, enableProfiling: profile, maxProfilingBufferEntries: 4096});
  if (!created.ok()) {
    process.stderr.write(logLines.join('\n') + '\n' + modelPath + ': ' + created.errorMessage() + '\n');
    process.exit(1);
  }
  const runner = created.value();
  // the model buffer must stay allocated: the interpreter reads weights from it

  const list = (vector) => Array.from({length: vector.size()}, (_, i) => vector.get(i));
  const inputs = list(runner.GetInputs());
  if (inputs.length !== 1) usage(modelPath + ': ' + inputs.length + ' inputs, this runner feeds one');
  const inputInfo = tensorInfo(inputs[0]);
  const all = fs.readFileSync(inputsPath);
  if (all.length === 0 || all.length % inputInfo.bytes !== 0) {
    usage(inputsPath + ': ' + all.length + ' bytes is not a multiple of the input tensor (' +
          inputInfo.bytes + ' bytes)');
  }
  const count = all.length / inputInfo.bytes;

  const chunks = [];
  let outputInfo = null;
  for (let n = 0; n < count; n++) {
    // data() is a typed-array view into the wasm heap; ask for it again on every
    // run because a heap growth replaces the underlying ArrayBuffer
    const input = list(runner.GetInputs())[0].data();
    input.set(new input.constructor(all.buffer.slice(all.byteOffset + n * inputInfo.bytes,
                                                     all.byteOffset + (n + 1) * inputInfo.bytes)));
    if (!runner.Infer()) {
      process.stderr.write(logLines.join('\n') + '\n' + modelPath + ': Infer() failed on run ' + n + '\n');
      process.exit(1);
    }
    const outputs = list(runner.GetOutputs());
    if (outputInfo === null) outputInfo = outputs.map(tensorInfo);
    for (const tensor of outputs) {
      // TypedArray.prototype.slice copies (a view would change on the next run)
      chunks.push(Buffer.from(tensor.data().slice().buffer));
    }
  }
  fs.writeFileSync(outPrefix + '.bin', Buffer.concat(chunks));

  const meta = {
    runtime: {
      package: PACKAGE,
      version: pkg.version,
      wasm: path.join('wasm', WASM_BASENAME + '.wasm'),
      wasm_sha256: crypto.createHash('sha256').update(wasmBinary).digest('hex'),
      node: process.version,
      num_threads: 1,
    },
    model: path.resolve(modelPath),
    model_sha256: crypto.createHash('sha256').update(model).digest('hex'),
    runs: count,
    // TFLite logs this (as an ERROR) when a delegate fails to prepare and it
    // falls back to its builtin kernels for the whole graph
    delegate_fallback: logLines.some((l) => l.includes('Restored original execution plan')),
    xnnpack_created: logLines.some((l) => l.includes('XNNPACK delegate')),
    inputs: [inputInfo],
    outputs: outputInfo,
    log: logLines,
  };
  if (profile) {
    meta.profile = runner.GetProfilingResults
        ? list(runner.GetProfilingResults()).map((p) => ({type: p.nodeType, name: p.nodeName}))
        : [];
    meta.profile_summary = runner.GetProfilingSummary();
  }
  fs.writeFileSync(outPrefix + '.json', JSON.stringify(meta, null, 1) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
