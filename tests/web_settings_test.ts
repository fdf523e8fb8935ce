// The training page's settings (examples/web/settings.ts): the URL's and the form's names, the CLI
// demo's defaults, and a message for every setting that cannot be read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULTS, readSettings } from "../examples/web/settings.ts";

const read = (query: string) => readSettings(new URLSearchParams(query));

test("page settings: the CLI demo's defaults, and every setting by its URL name", () => {
  assert.deepEqual(read(""), { settings: DEFAULTS, errors: [] });
  assert.deepEqual(DEFAULTS, {
    learningRate: 0.2,
    batch: 64,
    epochs: 4,
    epsilonInsideSqrt: false,
    rowWise: false,
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
    rowWise: true,
    limit: 600,
    chartEvery: 2,
    autostart: true,
  });
  // An empty form field means "not set".
  assert.deepEqual(read("clipnorm=&limit=").settings, DEFAULTS);
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
    ["optimizer=adam", /^optimizer must be 'adagrad' or 'rowwise', got 'adam'$/],
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
