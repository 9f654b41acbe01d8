/** A 1-based line and column (columns count characters, not bytes). */
export interface Position {
  line: number;
  col: number;
}

/** One problem found in a configuration file. Line 0 means the file as a whole. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** `file:line:col: message`, the form editors and CI annotate; `file: message` for whole-file problems. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, line, col, message } = diagnostic;
  return line === 0 ? `${file}: ${message}` : `${file}:${line}:${col}: ${message}`;
}

export function diagnosticAt(file: string, pos: Position, message: string): Diagnostic {
  return { file, line: pos.line, col: pos.col, message };
}

/** Source order, so that users read errors top to bottom. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.col - b.col;
}
