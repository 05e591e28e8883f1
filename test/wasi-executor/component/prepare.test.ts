import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  missingImports,
  passThrough,
  prepareComponent,
} from '../../../wasi-executor/component/prepare.js';
import { builtComponent } from './support.js';

const prepare = (bytes: Uint8Array) => prepareComponent(bytes, { instrument: passThrough });

async function componentOf(witSource: string, world: string): Promise<Uint8Array> {
  return componentNew(await componentEmbed({ dummy: true, witSource, world }));
}

test('a wasi:cli/command component prepares as a command with its imports listed', async () => {
  const result = await prepare(builtComponent('p2/hello.wasm'));
  assert.ok(result.ok);
  assert.is(result.value.world, 'command');
  assert.ok(result.value.imports.includes('wasi:cli/stdout'));
  assert.ok(Object.keys(result.value.coreModules).length >= 2);
  assert.equal(
    Object.keys(result.value.limits).sort(),
    Object.keys(result.value.coreModules).sort(),
  );
  assert.not.match(result.value.glueSource, 'JCO_DEBUG');
});

test('a component importing an interface we do not host is refused, naming it', async () => {
  const component = await componentOf(
    `package test:lights;
     interface switches { turn-on: func(room: string) -> bool; }
     world needs-lights {
       import switches;
       export handle: func(input: list<u8>) -> result<list<u8>, string>;
     }`,
    'needs-lights',
  );
  const result = await prepare(component);
  assert.ok(!result.ok);
  assert.is(result.error.code, 'missing_import');
  assert.match(result.error.message, 'test:lights/switches');
});

test('sockets and outgoing http are not hosted, so they count as missing', () => {
  const missing = missingImports(
    new Map([
      ['wasi:sockets/tcp@0.2.3', ['TcpSocket']],
      ['wasi:http/outgoing-handler', ['handle']],
      ['wasi:cli/stdout', ['getStdout']],
      ['wasi:cli/exit', ['exit', 'exitWithCode', 'exitLater']],
    ]),
  );
  assert.equal(missing, [
    'wasi:sockets/tcp@0.2.3',
    'wasi:http/outgoing-handler',
    'wasi:cli/exit#exitLater',
  ]);
});

test('a component for a world we do not host is refused as unsupported_world', async () => {
  const component = await componentOf(
    'package test:calc; world calc { export add: func(a: u32, b: u32) -> u32; }',
    'calc',
  );
  const result = await prepare(component);
  assert.ok(!result.ok);
  assert.is(result.error.code, 'unsupported_world');
  assert.match(result.error.message, 'add');
});

test('a core module, a non-wasm file and a truncated component are invalid_wasm', async () => {
  const hello = builtComponent('p2/hello.wasm');
  const core = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const inputs = [
    core,
    new TextEncoder().encode('#!/bin/sh\necho hi\n'),
    hello.subarray(0, hello.length / 2),
  ];
  for (const bytes of inputs) {
    const result = await prepare(bytes);
    assert.ok(!result.ok);
    assert.is(result.error.code, 'invalid_wasm');
  }
});

test('an instrumenter refusing a core module refuses the component', async () => {
  const result = await prepareComponent(builtComponent('p2/hello.wasm'), {
    instrument: () => ({ ok: false, error: 'unsupported feature' }),
  });
  assert.ok(!result.ok);
  assert.is(result.error.code, 'invalid_wasm');
  assert.match(result.error.message, 'unsupported feature');
});

test.run();
