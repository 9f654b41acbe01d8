import { test } from "node:test";
import assert from "node:assert/strict";
import { configErrors } from "./config-errors-fixture.js";
import { parseConfig } from "./parse-config.js";

const write = 'pyroscope.write "w" {\n  endpoint { url = "http://pyroscope:4040" }\n}\n';

/** A declare whose receiver reads its arguments, and an instance of it with `attributes`. */
function config(argumentBlocks: string, receiverBody: string, attributes: string): string {
  return `declare "receiver" {\n${argumentBlocks}  pyroscope.receive_http "default" {\n${receiverBody}  }\n}\nreceiver "r" {\n${attributes}}\n${write}`;
}

const destinations = '  argument "destinations" { }\n';
const forwardTo = "    forward_to = argument.destinations.value\n";
const setDestinations = "  destinations = [pyroscope.write.w.receiver]\n";

function receiverOf(source: string) {
  const [receiver, ...others] = parseConfig(source, "t.alloy", {}).receivers;
  assert.equal(others.length, 0);
  return receiver!;
}

test("reports a required argument the instance does not set at the instance, and its reads in the body", () => {
  assert.deepEqual(configErrors(config(destinations, forwardTo, "")), [
    "t.alloy:4:18: argument.destinations cannot be read: the instance does not set it (reported at it) (in custom component receiver.r)",
    't.alloy:7:1: missing required argument "destinations" (declare "receiver" defines it at 2:3, not optional) (in custom component receiver.r)',
  ]);
  // `optional = false` is the default, as in Alloy.
  assert.match(configErrors(config('  argument "destinations" {\n    optional = false\n  }\n', forwardTo, ""))[1]!, /missing required argument "destinations"/);
});

test("reports an attribute that names no argument at its name, as Alloy refuses it", () => {
  assert.deepEqual(configErrors(config(destinations, forwardTo, `${setDestinations}  destination = 1\n`)), [
    't.alloy:9:3: argument "destination" is not defined in declare "receiver", whose arguments are destinations (in custom component receiver.r)',
  ]);
  assert.deepEqual(configErrors(config("", "    forward_to = [pyroscope.write.w.receiver]\n", "  port = 1\n")), [
    't.alloy:3:19: component "pyroscope.write.w.receiver" does not exist or is out of scope: in declare "receiver" an expression sees only its arguments (argument.NAME.value) and the components of its body; pass a top-level component in an argument (in custom component receiver.r)',
    't.alloy:7:3: argument "port" is not defined in declare "receiver", which has no argument (in custom component receiver.r)',
  ]);
});

test("reports a block and a duplicate attribute in an instance", () => {
  assert.deepEqual(configErrors(config(destinations, forwardTo, `${setDestinations}${setDestinations}  http {\n  }\n`)), [
    't.alloy:9:3: duplicate attribute "destinations"; first set at 8:3 (in custom component receiver.r)',
    't.alloy:10:3: unexpected block "http": a custom component takes an attribute for each argument of its declare "receiver" (in custom component receiver.r)',
  ]);
});

test("an optional argument the instance does not set takes its default, evaluated in the body; null without one", () => {
  const port = '  argument "port" {\n    optional = true\n    default  = 4000 + 41\n  }\n  argument "address" {\n    optional = true\n  }\n';
  const http = "    http {\n      listen_port    = argument.port.value\n      listen_address = argument.address.value\n    }\n";
  const defaulted = receiverOf(config(destinations + port, forwardTo + http, setDestinations));
  assert.deepEqual([defaulted.listenAddress, defaulted.listenPort], ["", 4041]);
  const set = receiverOf(config(destinations + port, forwardTo + http, `${setDestinations}  port = 4042\n  address = "127.0.0.1"\n`));
  assert.deepEqual([set.listenAddress, set.listenPort], ["127.0.0.1", 4042]);
});

test("checks an argument block as Alloy does, when its default is taken", () => {
  assert.deepEqual(configErrors(config(`  argument "port" {\n    optional = "yes"\n    required = true\n  }\n${destinations}`, forwardTo, setDestinations)), [
    "t.alloy:3:16: optional: expected bool, got string (in custom component receiver.r)",
    't.alloy:4:5: unknown attribute "required" (in custom component receiver.r)',
  ]);
});

test("checks an argument block the instance sets too, as Alloy evaluates every one", () => {
  const misspelt = `  argument "destinations" {\n    optinal = true\n  }\n`;
  assert.deepEqual(configErrors(config(misspelt, forwardTo, setDestinations)), ['t.alloy:3:5: unknown attribute "optinal" (in custom component receiver.r)']);
  assert.equal(receiverOf(config(destinations, forwardTo, setDestinations)).forwardTo.length, 1, "a well-formed block passes");
});

test("an argument's default may read another argument, not itself", () => {
  const others = '  argument "port" {\n    optional = true\n    default = argument.base.value + 1\n  }\n  argument "base" { }\n';
  const http = "    http {\n      listen_port = argument.port.value\n    }\n";
  assert.equal(receiverOf(config(destinations + others, forwardTo + http, `${setDestinations}  base = 4040\n`)).listenPort, 4041);
  const itself = '  argument "port" {\n    optional = true\n    default = argument.port.value\n  }\n';
  assert.deepEqual(configErrors(config(destinations + itself, forwardTo + http, setDestinations)), [
    "t.alloy:5:15: argument.port depends on itself: argument.port -> argument.port (in custom component receiver.r)",
    "t.alloy:10:21: argument.port cannot be read: it has errors (reported at it) (in custom component receiver.r)",
  ]);
});

test("reads an argument's fields; a reference in an argument takes more fields as a reference", () => {
  const settings = '  argument "settings" { }\n  argument "write" { }\n';
  const body = "    http {\n      listen_port = argument.settings.value.port\n    }\n    forward_to = [argument.write.value.receiver]\n";
  const receiver = receiverOf(config(settings, body, "  settings = { port = 4043 }\n  write = pyroscope.write.w\n"));
  assert.deepEqual([receiver.listenPort, receiver.forwardTo], [4043, ["w"]]);
  assert.deepEqual(configErrors(config(settings, body, "  settings = { }\n  write = pyroscope.write.w\n")), [
    't.alloy:6:21: field "port" does not exist (in custom component receiver.r)',
  ]);
  assert.deepEqual(
    configErrors(config(settings, body.replace("argument.settings.value.port", "argument.settings.port"), "  settings = 1\n  write = pyroscope.write.w\n")),
    ['t.alloy:6:21: argument.settings has no export "port": an argument exports value (in custom component receiver.r)'],
  );
});

test("a body's reference to an argument the declare does not have is an error", () => {
  assert.deepEqual(configErrors(config(destinations, "    forward_to = argument.destination.value\n", setDestinations)), [
    't.alloy:4:18: argument.destination is not defined: declare "receiver" has no argument "destination" block (in custom component receiver.r)',
  ]);
  assert.deepEqual(configErrors(config(destinations, "    forward_to = argument\n", setDestinations)), [
    "t.alloy:4:18: argument is not a value: an argument reads as argument.NAME.value (in custom component receiver.r)",
  ]);
});

test("an attribute is evaluated where the instance is, and only when the body reads it", () => {
  const unread = '  argument "targets" {\n    optional = true\n  }\n';
  // What only Alloy evaluates: a function of a component's exports the relay does not have.
  const receiver = receiverOf(config(destinations + unread, forwardTo, `${setDestinations}  targets = array.concat(discovery.kubernetes.pods.targets, [])\n`));
  assert.deepEqual(receiver.forwardTo, ["w"]);
  assert.deepEqual(configErrors(config(destinations, forwardTo, "  destinations = [no_such_function()]\n")), [
    "t.alloy:4:18: argument.destinations cannot be read: it has errors (reported at it) (in custom component receiver.r)",
    't.alloy:8:19: unknown function "no_such_function" (in custom component receiver.r)',
  ]);
});
