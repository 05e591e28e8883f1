// A function-style handler (world wasmos:handler/handler): greets the UTF-8
// name it is given, and returns an error for empty input so both result arms
// can be tested.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function handle(input) {
  const name = decoder.decode(input).trim();
  if (name.length === 0) {
    throw 'empty input: send a name';
  }
  return encoder.encode(`hello, ${name}!`);
}
