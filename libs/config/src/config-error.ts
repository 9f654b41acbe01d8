import { compareDiagnostics, formatDiagnostic, type Diagnostic } from "./diagnostic.js";

/**
 * Everything wrong with a configuration file, in source order. The message lists every diagnostic,
 * one per line; messages never quote secret values.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[], options?: { cause?: unknown }) {
    const sorted = [...diagnostics].sort(compareDiagnostics);
    super(sorted.map(formatDiagnostic).join("\n"), options);
    this.diagnostics = sorted;
  }
}
