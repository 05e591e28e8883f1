import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ComponentArtifact } from '../../../wasi-executor/component/run.js';
import { builtComponent, metered, prepared, run } from './support.js';

let greet: ComponentArtifact;

test.before(async () => {
  // The JavaScript handler (componentize-js): a 12 MB core module, instrumented like any other.
  greet = await prepared(builtComponent('handlers/greet.wasm'), metered);
});

test('the JavaScript handler is prepared for the handler world', () => {
  assert.is(greet.world, 'handler');
});

test('input bytes go in and the returned bytes come back', async () => {
  const result = await run(greet, { handlerInput: new TextEncoder().encode('wasmos') });
  assert.is(result.thrown, undefined);
  assert.ok(result.outcome?.kind === 'returned');
  assert.is(new TextDecoder().decode(result.outcome.output), 'hello, wasmos!');
  assert.ok(result.context.fuelConsumed() > 0);
});

test('an error result comes back as handler_error with its message', async () => {
  const result = await run(greet, { handlerInput: new TextEncoder().encode('  ') });
  assert.equal(result.outcome, { kind: 'handler_error', message: 'empty input: send a name' });
});

test('a handler out of fuel is stopped', async () => {
  const result = await run(
    greet,
    { handlerInput: new TextEncoder().encode('wasmos') },
    { fuel: 1000 },
  );
  assert.ok(result.context.fuelExhausted);
  assert.instance(result.thrown, Error);
});

test.run();
