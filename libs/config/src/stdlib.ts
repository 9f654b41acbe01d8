import { join } from "node:path";
import { FunctionError } from "./function-error.js";
import { Secret } from "./secret.js";
import { encodingFunctions } from "./stdlib-encoding.js";
import type { StdlibFunction } from "./stdlib-function.js";
import { stringFunctions } from "./stdlib-strings.js";
import { isObjectValue } from "./value-type.js";

/** Alloy functions that need what the relay does not have (a YAML or JSONPath parser) or are experimental. */
const unsupported: StdlibFunction = {
  arity: [0, Infinity],
  run: () => {
    throw new FunctionError("this Alloy function is not supported by pyroscope-relay");
  },
};

/** What Go calls the zero value, which coalesce skips; an empty list or object counts too. */
function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (isObjectValue(value)) return Object.keys(value).length === 0;
  return value === null || value === "" || value === 0 || value === false;
}

const sysEnv: StdlibFunction = {
  arity: [1, 1],
  // An unset variable reads as "", as in Alloy; hasOwn keeps names such as "constructor" out of the prototype.
  run: (args, { env }) => {
    const name = args.string(0);
    return (Object.hasOwn(env, name) ? env[name] : undefined) ?? "";
  },
};

const concat: StdlibFunction = { arity: [0, Infinity], run: (args) => args.values.flatMap((_, index) => args.list(index)) };

/** A secret's text as a plain string; a string is taken as it is, as Alloy converts one into a secret first. */
const nonsensitive: StdlibFunction = {
  arity: [1, 1],
  run: (args) => {
    const [value] = args.values;
    return value instanceof Secret ? value.reveal() : args.string(0);
  },
};

const namespaces: Record<string, Record<string, StdlibFunction>> = {
  sys: { env: sysEnv },
  string: stringFunctions,
  encoding: { ...encodingFunctions, from_yaml: unsupported },
  array: { concat, combine_maps: unsupported, group_by: unsupported },
  convert: { nonsensitive },
  file: {
    path_join: {
      arity: [0, Infinity],
      // Go's filepath.Join skips empty parts, returns "" for none and drops a trailing separator.
      run: (args) => {
        const parts = args.values.map((_, index) => args.string(index)).filter((part) => part !== "");
        return parts.length === 0 ? "" : join(...parts).replace(/(?<=.)[\\/]$/, "");
      },
    },
  },
};

const topLevel: Record<string, StdlibFunction> = {
  coalesce: {
    arity: [0, Infinity],
    run: (args) => args.values.find((value) => !isEmpty(value)) ?? args.values.at(-1) ?? null,
  },
  json_path: unsupported,
  // The names Alloy deprecated in favour of the namespaced ones, and still accepts.
  env: sysEnv,
  nonsensitive,
  concat,
  json_decode: encodingFunctions.from_json,
  yaml_decode: unsupported,
  base64_decode: encodingFunctions.from_base64,
  ...stringFunctions,
};

/** Every function by the dotted name a call uses, e.g. `string.format` or `env`. */
const functions = new Map<string, StdlibFunction>([
  ...Object.entries(topLevel),
  ...Object.entries(namespaces).flatMap(([namespace, members]) =>
    Object.entries(members).map(([name, fn]): [string, StdlibFunction] => [`${namespace}.${name}`, fn]),
  ),
]);

export function stdlibFunction(name: string): StdlibFunction | undefined {
  return functions.get(name);
}

/**
 * Whether a name starts in the standard library (`constants`, a namespace or a function) rather than
 * naming a component, as `pyroscope.write.a.receiver` does.
 */
export function isStdlibName(first: string): boolean {
  return first === "constants" || Object.hasOwn(namespaces, first) || Object.hasOwn(topLevel, first);
}
