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

/** Where `pos` in `file` is, as a diagnostic in `from` names it: `line:col`, or `file:line:col` in another file. */
export function describeLocation(file: string, pos: Position, from: string): string {
  return file === from ? `${pos.line}:${pos.col}` : `${file}:${pos.line}:${pos.col}`;
}

/** Source order, file by file, so that users read errors top to bottom. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col;
}
