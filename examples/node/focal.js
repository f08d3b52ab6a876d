// Focal loss from Node.js with koffi (declarations read from floss.h by
// floss.js): a multi-class focal loss from logits with its gradient, checked
// against the formula and finite differences, then a bad label and floss's
// error message. Exits 1 if a check fails.
//
//   cd examples/node && npm ci && node focal.js
//   (FLOSS_LIBRARY / FLOSS_HEADER choose another library and header)
'use strict';

const floss = require('./floss');

const n = 2, c = 3, gamma = 2.0;
const logits = new Float64Array([2.0, 0.5, -1.0, 0.1, 0.2, 3.0]);
const labels = new BigInt64Array([0n, 1n]);
let failures = 0;

function expect(what, got, want, tol) {
  const ok = Math.abs(got - want) <= tol;
  if (!ok) failures++;
  console.log(`  ${what.padEnd(26)} ${got.toPrecision(15)} (expected ${want.toPrecision(15)}) ${ok ? 'ok' : 'FAILED'}`);
}

function focal(z, y, reduction, out, grad) {
  const opts = floss.options({ input: floss.FLOSS_INPUT_LOGITS, reduction });
  return floss.lib.floss_focal_loss_f64(z, y, n, c, null, gamma, opts, out, grad, null);
}

console.log(`floss ${floss.lib.floss_version()} from Node.js ${process.version} (header ` +
  `${floss.FLOSS_VERSION_MAJOR}.${floss.FLOSS_VERSION_MINOR}.${floss.FLOSS_VERSION_PATCH})`);

const out = new Float64Array(n);
const grad = new Float64Array(n * c);
const status = focal(logits, labels, floss.FLOSS_REDUCTION_NONE, out, grad);
if (status !== floss.FLOSS_OK) {
  console.log(`unexpected status ${floss.lib.floss_status_str(status)}: ${floss.lastError()}`);
  process.exit(1);
}
for (let i = 0; i < n; i++) {
  const row = Array.from(logits.subarray(i * c, (i + 1) * c));
  const sum = row.reduce((s, z) => s + Math.exp(z), 0);
  const p = Math.exp(row[Number(labels[i])]) / sum;
  expect(`loss[${i}] = -(1-p)^2 ln p`, out[i], -Math.pow(1 - p, gamma) * Math.log(p), 1e-13);
}
// The gradient of the per-row losses is the gradient of their sum.
for (let k = 0; k < n * c; k++) {
  const h = 1e-6;
  const plus = Float64Array.from(logits), minus = Float64Array.from(logits);
  plus[k] += h;
  minus[k] -= h;
  const fp = new Float64Array(1), fm = new Float64Array(1);
  focal(plus, labels, floss.FLOSS_REDUCTION_SUM, fp, null);
  focal(minus, labels, floss.FLOSS_REDUCTION_SUM, fm, null);
  expect(`grad[${k}] vs finite diff`, grad[k], (fp[0] - fm[0]) / (2 * h), 1e-8);
}

const bad = new BigInt64Array([0n, 4n]);
const badStatus = focal(logits, bad, floss.FLOSS_REDUCTION_NONE, out, grad);
const message = floss.lastError();
console.log(`  bad label: ${floss.lib.floss_status_str(badStatus)}\n    ${message}`);
if (badStatus !== floss.FLOSS_ERR_LABEL || !message.includes('labels[1] = 4')) {
  console.log('  expected FLOSS_ERR_LABEL naming labels[1] = 4: FAILED');
  failures++;
}

console.log(failures ? `node example: ${failures} FAILED` : 'node example: all ok');
process.exit(failures ? 1 : 0);
