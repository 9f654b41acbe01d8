import { ConfigError } from "./config-error.js";
import type { Diagnostic } from "./diagnostic.js";
import { decodeComponents } from "./decode-components.js";
import type { Environment } from "./evaluate.js";
import { parseAlloy } from "./parser.js";
import { receiveHttpSchema, type ReceiveHttpComponent } from "./receive-http-schema.js";
import { buildReceivers } from "./receivers.js";
import type { RelayConfig } from "./relay-config.js";
import type { FileReader } from "./schema-values.js";
import { buildTargets, type Located } from "./targets.js";
import { validateComponent } from "./validate-component.js";
import { writeSchema, type WriteComponent } from "./write-schema.js";

const noFileReader: FileReader = () => {
  throw new Error("files cannot be read here; load the configuration with loadConfig");
};

/**
 * Parses and validates an Alloy-syntax configuration. Pure: `env` answers `env("X")` and
 * `sys.env("X")`, and `readFile` reads the files `*_file` attributes name. Throws a ConfigError
 * listing every problem found.
 */
export function parseConfig(
  source: string,
  file: string,
  env: Environment = {},
  readFile: FileReader = noFileReader,
): RelayConfig {
  const alloyFile = parseAlloy(source, file);
  const diagnostics: Diagnostic[] = [];
  const components = decodeComponents(alloyFile, { file, env }, diagnostics);

  const write = writeSchema(readFile);
  const receives: Located<ReceiveHttpComponent>[] = [];
  const writes: Located<WriteComponent>[] = [];
  for (const { kind, data, locations, ...component } of components) {
    if (kind === "pyroscope.write") {
      const result = validateComponent(write, data, locations, file);
      if (result.ok) writes.push({ ...component, value: result.value, locations });
      else diagnostics.push(...result.diagnostics);
    } else {
      const result = validateComponent(receiveHttpSchema, data, locations, file);
      if (result.ok) receives.push({ ...component, value: result.value, locations });
      else diagnostics.push(...result.diagnostics);
    }
  }
  if (!alloyFile.body.some((statement) => statement.name === "pyroscope.receive_http")) {
    const message = "no pyroscope.receive_http component: nothing would receive profiles";
    diagnostics.push({ file, line: 0, col: 0, message });
  }
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);

  const targets = buildTargets(writes, file, diagnostics);
  const targetsByWrite = new Map(
    writes.map(({ label }) => [label, targets.filter((t) => t.writeLabel === label).map((t) => t.name)]),
  );
  const receivers = buildReceivers(receives, targetsByWrite, file, diagnostics);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  return { receivers, targets };
}
