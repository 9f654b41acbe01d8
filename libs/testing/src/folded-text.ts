/** A folded ("collapsed") stack profile, the `/ingest` default format: `frame;frame;frame count` per line. */
export function foldedText(): Buffer {
  return Buffer.from(["main;http.serve;handler.ingest;json.encode 120", "main;http.serve;handler.ingest;zlib.deflate 45", "main;runtime.gc 7", ""].join("\n"));
}
