// The training page's settings (examples/web/settings.ts): the URL's and the form's names, the CLI
// demo's defaults, and a message for every setting that cannot be read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULTS, readSettings } from "../../examples/web/settings.ts";

const read = (query: string) => readSettings(new URLSearchParams(query));

test("page settings: the CLI demo's defaults, and every setting by its URL name", () => {
  assert.deepEqual(read(""), { settings: DEFAULTS, errors: [] });
  assert.deepEqual(DEFAULTS, {
    learningRate: 0.2,
    batch: 64,
    epochs: 4,
    epsilonInsideSqrt: false,
    optimizer: "adagrad",
    chartEvery: 4,
    autostart: false,
  });
  const { settings, errors } = read(
    "lr=0.05&batch=128&epochs=2&clipnorm=1.5&epsilon=inside&optimizer=rowwise&limit=600&chart=2" +
      "&autostart=1",
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(settings, {
    learningRate: 0.05,
    batch: 128,
    epochs: 2,
    clipnorm: 1.5,
    epsilonInsideSqrt: true,
    optimizer: "rowwise",
    limit: 600,
    chartEvery: 2,
    autostart: true,
  });
  // An empty form field means "not set".
  assert.deepEqual(read("clipnorm=&limit=&l1=&l2=").settings, DEFAULTS);
});

test("page settings: ProximalAdagrad and AdagradDA with their L1 and L2 (0 allowed)", () => {
  assert.deepEqual(read("optimizer=proximal&l1=0.001&l2=0"), {
    settings: { ...DEFAULTS, optimizer: "proximal", l1: 0.001, l2: 0 },
    errors: [],
  });
  assert.deepEqual(read("optimizer=adagrad-da&l1=1e-4"), {
    settings: { ...DEFAULTS, optimizer: "adagrad-da", l1: 1e-4 },
    errors: [],
  });
  // The form sends its empty fields: an empty l1 goes with any optimizer.
  assert.deepEqual(read("optimizer=adagrad&epsilon=outside&l1=&l2="), {
    settings: DEFAULTS,
    errors: [],
  });
});

test("page settings: an L1 or L2 for an optimizer without one, or epsilon for one with none", () => {
  const cases: [string, RegExp][] = [
    ["l1=0.001", /^l1 needs optimizer 'proximal' or 'adagrad-da', not 'adagrad'$/],
    ["optimizer=rowwise&l2=0", /^l2 needs optimizer 'proximal' or 'adagrad-da', not 'rowwise'$/],
    ["optimizer=proximal&epsilon=inside", /^epsilon inside the square root is not an option of/],
  ];
  for (const [query, message] of cases) {
    const { errors } = read(query);
    assert.equal(errors.length, 1, `${query}: ${errors}`);
    assert.match(errors[0], message);
  }
});

test("page settings: what cannot be read is named, with the value given", () => {
  const cases: [string, RegExp][] = [
    ["epochs=two", /^epochs must be a positive integer, got 'two'$/],
    ["epochs=1.5", /^epochs must be a positive integer, got '1.5'$/],
    ["lr=-1", /^learning rate must be a positive number, got '-1'$/],
    ["lr=0", /^learning rate must be a positive number, got '0'$/],
    ["clipnorm=NaN", /^clipnorm must be a positive number, got 'NaN'$/],
    ["batch=5000", /^batch must be at most 4096, got 5000$/],
    ["limit=3", /^limit must be at least 10 messages, got 3$/],
    ["epsilon=middle", /^epsilon must be 'outside' or 'inside', got 'middle'$/],
    [
      "optimizer=adam",
      /^optimizer must be one of 'adagrad', 'rowwise', 'proximal', 'adagrad-da', got 'adam'$/,
    ],
    ["l1=-1", /^l1 must be a non-negative number, got '-1'$/],
    ["l2=x", /^l2 must be a non-negative number, got 'x'$/],
    ["epoch=2", /^unknown setting 'epoch'; known: lr,batch,/],
  ];
  for (const [query, message] of cases) {
    const { settings, errors } = read(query);
    assert.equal(errors.length, 1, `${query}: ${errors}`);
    assert.match(errors[0], message);
    assert.deepEqual(settings, DEFAULTS, `${query}: what cannot be read keeps its default`);
  }
  assert.equal(read("epochs=two&lr=x").errors.length, 2);
});
