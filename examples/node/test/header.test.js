// What floss.js read from floss.h agrees with the library it loaded: the
// struct koffi lays out has the size the library's floss_options_init
// records, the defaults come back through it, every exported symbol
// (include/floss.symbols) was declared, and the constants are the header's.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const floss = require('../floss');

test('koffi lays out floss_options as the library does', () => {
  // floss_options_init_sized accepts only the sizes of released layouts,
  // and records the size it was given.
  const opts = floss.options();
  assert.strictEqual(opts.size, floss.koffi.sizeof(floss.Options));
  assert.strictEqual(floss.koffi.sizeof(floss.Options), 64);
  assert.strictEqual(opts.input, floss.FLOSS_INPUT_PROBS);
  assert.strictEqual(opts.reduction, floss.FLOSS_REDUCTION_MEAN);
  assert.strictEqual(BigInt(opts.ignore_index), floss.FLOSS_NO_IGNORE);
  assert.strictEqual(opts.hessian_floor, 1e-6);
  assert.strictEqual(Number(opts.positions), 0);
});

test('every exported symbol is declared', () => {
  const listed = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'include', 'floss.symbols'), 'utf8')
    .split('\n').filter((l) => l && !l.startsWith('#')).sort();
  assert.deepStrictEqual(Object.keys(floss.prototypes).sort(), listed);
  for (const name of listed) assert.strictEqual(typeof floss.lib[name], 'function', name);
});

test('constants are the header\'s', () => {
  assert.strictEqual(floss.FLOSS_NO_IGNORE, -(2n ** 63n));
  assert.strictEqual(floss.FLOSS_ERR_LABEL, 4);
  assert.strictEqual(floss.FLOSS_HESSIAN_FISHER, 2);
  assert.strictEqual(floss.lib.floss_version(),
    `${floss.FLOSS_VERSION_MAJOR}.${floss.FLOSS_VERSION_MINOR}.${floss.FLOSS_VERSION_PATCH}`);
  assert.ok(floss.lib.floss_status_str(floss.FLOSS_ERR_MEMORY).startsWith('FLOSS_ERR_MEMORY'));
});

test('options reach the library (a non-default field changes the result)', () => {
  const p = new Float64Array([0.5, 0.25, 0.25]);
  const nats = new Float64Array(1), bits = new Float64Array(1);
  assert.strictEqual(floss.lib.floss_entropy_f64(p, 1, 3, floss.options(), nats, null, null), floss.FLOSS_OK);
  assert.strictEqual(floss.lib.floss_entropy_f64(p, 1, 3, floss.options({ log_base: 2 }), bits, null, null),
    floss.FLOSS_OK);
  assert.ok(Math.abs(bits[0] - 1.5) < 1e-15, `entropy in bits ${bits[0]}`);
  assert.ok(Math.abs(nats[0] - 1.5 * Math.LN2) < 1e-15, `entropy in nats ${nats[0]}`);
});
